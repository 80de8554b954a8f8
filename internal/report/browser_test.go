package report

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// measure is what the page looks like in a browser: its width against the
// window's, and where its charts and colour keys end.
type measure struct {
	ScrollW, ClientW float64
	SVGs             [][3]float64 // width, height, right edge
	Keys             []float64    // right edge of each colour key
}

// measureScript runs in a copy of report.html (the report has no scripts)
// and leaves its findings on <body> for --dump-dom.
const measureScript = `<script>
const r = {ScrollW: document.documentElement.scrollWidth, ClientW: document.documentElement.clientWidth,
  SVGs: [...document.querySelectorAll('svg')].map(s => { const b = s.getBoundingClientRect(); return [b.width, b.height, b.right]; }),
  Keys: [...document.querySelectorAll('.key')].map(k => k.getBoundingClientRect().right)};
document.body.setAttribute('data-measure', JSON.stringify(r));
</script>`

var measured = regexp.MustCompile(`data-measure="([^"]*)"`)

// TestReportInChromium loads report.html of a real recorded run in Debian's
// chromium, headless (the test command installs it), at 1280, 1400 and
// 1920 px: the page must not scroll sideways, every chart must be drawn at
// a non-zero size inside the window, and so must the colour keys that
// stand for the charts' legends.
func TestReportInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: the test command installs it (apt-get install -y chromium)")
	}
	var page bytes.Buffer
	if err := HTML(&page, recorded(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "<script") {
		t.Fatal("report.html has a script")
	}
	path := filepath.Join(t.TempDir(), "report.html")
	os.WriteFile(path, []byte(strings.Replace(page.String(), "</body>", measureScript+"</body>", 1)), 0o644)
	for _, width := range []string{"1280", "1400", "1920"} {
		out, err := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--window-size="+width+",1000", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+path).Output()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		m := measured.FindSubmatch(out)
		if m == nil {
			t.Fatalf("at %s px the page did not measure itself:\n%.2000s", width, out)
		}
		var got measure
		if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &got); err != nil {
			t.Fatal(err)
		}
		if got.ScrollW > got.ClientW {
			t.Errorf("at %s px the page is %.0f px wide: it scrolls sideways", width, got.ScrollW)
		}
		if len(got.SVGs) < 10 || len(got.Keys) < 5 {
			t.Errorf("at %s px: %d charts and %d colour keys", width, len(got.SVGs), len(got.Keys))
		}
		for i, s := range got.SVGs {
			if s[0] <= 0 || s[1] <= 0 || s[2] > got.ClientW {
				t.Errorf("at %s px chart %d is %.0f×%.0f px, its right edge at %.0f", width, i, s[0], s[1], s[2])
			}
		}
		for i, k := range got.Keys {
			if k <= 0 || k > got.ClientW {
				t.Errorf("at %s px colour key %d ends at %.0f px", width, i, k)
			}
		}
	}
}
