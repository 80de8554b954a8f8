package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/internal/scenario"
)

// The documents a user reads: the README and docs/.
func documents(t *testing.T) []string {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("docs/*.md: %v", err)
	}
	return append([]string{"../../README.md"}, docs...)
}

// block is a fenced block of a document: its language, the line it starts
// on, its text, and the HTML comment just above it, if any.
type block struct {
	lang, text, comment string
	line                int
}

func blocks(t *testing.T, path string) []block {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		blk := block{lang: lang, line: i + 1}
		if i > 0 && strings.HasPrefix(lines[i-1], "<!--") {
			blk.comment = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(lines[i-1], "<!--"), "-->"))
		}
		var text []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			text = append(text, lines[i])
		}
		blk.text = strings.Join(text, "\n") + "\n"
		out = append(out, blk)
	}
	return out
}

// Every YAML block in the docs validates: a whole scenario as it is, a
// fragment (a platforms: list, a gates: list, …) inside a minimal
// scenario whose keys it replaces.
func TestDocsYAMLValidates(t *testing.T) {
	base := map[string]any{
		"version": 1, "name": "doc",
		"platforms": []any{map[string]any{"name": "native", "type": "native"}},
		"workloads": []any{map[string]any{"type": "cpu"}},
	}
	n := 0
	for _, doc := range documents(t) {
		for _, b := range blocks(t, doc) {
			if b.lang != "yaml" {
				continue
			}
			n++
			where := fmt.Sprintf("%s:%d", filepath.Base(doc), b.line)
			var frag map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &frag); err != nil {
				t.Errorf("%s: not YAML: %v", where, err)
				continue
			}
			text := []byte(b.text)
			if _, whole := frag["version"]; !whole {
				m := map[string]any{}
				for k, v := range base {
					m[k] = v
				}
				for k, v := range frag {
					m[k] = v
				}
				text, _ = yaml.Marshal(m)
			}
			if _, err := scenario.Load(where, text); err != nil {
				t.Errorf("%s: the example does not validate:\n%v", where, err)
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d YAML blocks found in the docs", n)
	}
}

// An example output marked <!-- golden: FILE --> is lines of FILE, which a
// golden test writes from a stored run, in order ("…" stands for lines
// left out): it cannot go stale.
func TestDocsExamplesAreGolden(t *testing.T) {
	n := 0
	for _, doc := range documents(t) {
		for _, b := range blocks(t, doc) {
			file, ok := strings.CutPrefix(b.comment, "golden: ")
			if !ok {
				continue
			}
			n++
			golden, err := os.ReadFile(filepath.Join("../..", file))
			if err != nil {
				t.Errorf("%s:%d: %v", doc, b.line, err)
				continue
			}
			have := strings.Split(string(golden), "\n")
			at := 0
			for _, line := range strings.Split(strings.TrimSuffix(b.text, "\n"), "\n") {
				if line == "…" {
					continue
				}
				for at < len(have) && have[at] != line {
					at++
				}
				if at == len(have) {
					t.Errorf("%s:%d: %q is not in %s (in this order): copy the block from it again", doc, b.line, line, file)
					break
				}
				at++
			}
		}
	}
	if n == 0 {
		t.Error("no golden example in the docs")
	}
}

// Links between the documents lead somewhere, and the README stays short.
func TestDocsLinksAndLength(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#: ]+)(#[^)]*)?\)`)
	for _, doc := range documents(t) {
		b, _ := os.ReadFile(doc)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), m[1])); err != nil {
				t.Errorf("%s: a link to %s, which does not exist", doc, m[1])
			}
		}
		if strings.Contains(string(b), "../shared/") {
			t.Errorf("%s links ../shared/, which users do not have", doc)
		}
	}
	readme, _ := os.ReadFile("../../README.md")
	if n := strings.Count(string(readme), "\n"); n > 300 {
		t.Errorf("README.md has %d lines: keep it to what and why, requirements, the two commands, reading a verdict and links (at most 300)", n)
	}
}

// docs/reference.md is vmbench list as Markdown: every workload
// parameter, metric and platform option the code declares is documented,
// and nothing the code no longer has. -update rewrites it.
func TestReferenceIsGenerated(t *testing.T) {
	var b strings.Builder
	newListing().markdown(&b)
	path := "../../docs/reference.md"
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != b.String() {
		t.Errorf("docs/reference.md is not what the code declares: go test ./cmd/vmbench -run TestReferenceIsGenerated -args -update")
	}
}
