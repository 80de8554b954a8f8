// Package untrusted renders text that vmbench did not write itself — a
// workload's error or output, a scenario's names and units, a stored run
// from another host — into each of vmbench's outputs so that it stays
// text: no terminal escape sequence reaches a terminal, no HTML or link
// reaches a Markdown reader, no formula reaches a spreadsheet, and no
// unbounded output reaches a report.
//
// The renderers (report, gate) and the runner, which stores workload
// errors, call it; it depends on nothing of vmbench's.
package untrusted

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal is s with every control character but newline and tab (ESC
// starts terminal escape sequences; CR rewrites a line) shown as its
// escape, \x1b, and invalid UTF-8 as U+FFFD.
func Terminal(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			b.WriteString(escape(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Line is s on one line for a terminal: newlines and tabs become spaces,
// other control characters their escapes.
func Line(s string) string {
	return Terminal(strings.NewReplacer("\r\n", " ", "\n", " ", "\t", " ").Replace(s))
}

// Markdown is s as Markdown text that reads as itself within a line or a
// table cell: on one line, with no control characters, the table's pipe
// escaped, and neither HTML (< as an entity: no tag can start) nor an
// inline link or image (the "](" between text and address broken) left to
// render.
func Markdown(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", "](", `]\(`).Replace(Line(s))
}

// CodeSpan is s as a Markdown code span: literal, whatever it holds, its
// fence longer than any run of backticks in it.
func CodeSpan(s string) string {
	s = Line(s)
	fence, run := "`", 0
	for _, r := range s {
		if r == '`' {
			if run++; run >= len(fence) {
				fence += "`"
			}
		} else {
			run = 0
		}
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	// A pipe splits a table cell even inside a code span.
	return fence + pad + strings.ReplaceAll(s, "|", `\|`) + pad + fence
}

// CSVCell is s as a spreadsheet reads it as text: a cell that starts with
// = + - @ (or a tab or CR) would be a formula, and gets a leading '.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Cap keeps at most max bytes of s: its head and its tail, with how much
// was cut between them.
func Cap(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := len(s) - max
	head, tail := s[:max/2], s[len(s)-max/2:]
	for !utf8.ValidString(head) && len(head) > 0 { // not in the middle of a rune
		head = head[:len(head)-1]
	}
	for !utf8.ValidString(tail) && len(tail) > 0 {
		tail = tail[1:]
	}
	return head + " …[" + strconv.Itoa(cut) + " bytes cut]… " + tail
}

// Bytes keeps at most max bytes of b, as Cap does.
func Bytes(b []byte, max int) []byte {
	if len(b) <= max {
		return b
	}
	return []byte(Cap(string(b), max))
}

func escape(r rune) string {
	const hex = "0123456789abcdef"
	if r < 0x100 {
		return `\x` + string(hex[r>>4]) + string(hex[r&15])
	}
	return `\u` + string(hex[r>>12&15]) + string(hex[r>>8&15]) + string(hex[r>>4&15]) + string(hex[r&15])
}

// LastLines is how an error quotes the end of a program's output: its last
// n lines on one line, joined by " | ", each of at most 200 bytes.
func LastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = Cap(l, 200)
	}
	return strings.Join(lines, " | ")
}
