package untrusted

import (
	"strings"
	"testing"
)

func TestRenderings(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"terminal escape", Terminal, "ok\x1b[2J\x1b]0;pwned\x07 done\r", `ok\x1b[2J\x1b]0;pwned\x07 done\x0d`},
		{"terminal C1 and bad UTF-8", Terminal, "a\u009bb\xffc", `a\x9bb` + "\uFFFDc"},
		{"terminal keeps lines", Terminal, "a\n\tb", "a\n\tb"},
		{"line", Line, "a\nb\r\nc\td", "a b c d"},
		{"markdown html", Markdown, `<img src=x onerror=alert(1)>`, `&lt;img src=x onerror=alert(1)>`},
		{"markdown table and lines", Markdown, "a|b\n## heading", `a\|b ## heading`},
		{"markdown link", Markdown, "[click](https://evil)", `[click]\(https://evil)`},
		{"markdown image", Markdown, "![x](https://evil/pixel.png)", `![x]\(https://evil/pixel.png)`},
		{"code span", CodeSpan, "a`b", "``a`b``"},
		{"code span edge", CodeSpan, "`x|y`", "`` `x\\|y` ``"},
		{"csv formula", CSVCell, "=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"csv plus minus at", func(s string) string { return CSVCell(s) + CSVCell("+1") + CSVCell("@SUM") }, "-2+3", "'-2+3'+1'@SUM"},
		{"csv plain", CSVCell, "ops/s", "ops/s"},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s: %q → %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestCap(t *testing.T) {
	big := strings.Repeat("é", 1000) + "END"
	got := Cap(big, 100)
	if len(got) > 140 || !strings.HasSuffix(got, "END") || !strings.Contains(got, "bytes cut") || !strings.HasPrefix(got, "éé") {
		t.Errorf("%q", got)
	}
	if !strings.Contains(got, "…[1903 bytes cut]…") {
		t.Errorf("the cut is not counted: %q", got)
	}
	if Cap("short", 100) != "short" {
		t.Error("short text changed")
	}
}
