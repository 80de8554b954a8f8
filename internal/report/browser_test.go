package report

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	// Overlaps are the texts in a chart drawn over a line, a mark or
	// another text of it, or past its edge: "chart 3: \"label\" over path 12".
	Overlaps []string
	Texts    int // the charts' texts checked
	Headline string
}

// measureScript runs in a copy of report.html (the report has no scripts)
// and leaves its findings on <body> for --dump-dom.
const measureScript = `<script>
const r = {ScrollW: document.documentElement.scrollWidth, ClientW: document.documentElement.clientWidth,
  SVGs: [...document.querySelectorAll('svg')].map(s => { const b = s.getBoundingClientRect(); return [b.width, b.height, b.right]; }),
  Keys: [...document.querySelectorAll('.key')].map(k => k.getBoundingClientRect().right), Overlaps: [], Texts: 0,
  Headline: [...document.querySelectorAll('h2')].map(h => h.textContent).find(t => t.startsWith('Headline')) || ''};
// Two boxes overlap when they share more than a pixel each way; the
// chart's first path is its white background.
const over = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
const dims = (a) => ' [' + [a.left, a.top, a.right, a.bottom].map(Math.round).join(',') + ']';
document.querySelectorAll('svg').forEach((svg, i) => {
  const box = svg.getBoundingClientRect();
  // A text's box is its font's em box, taller than its glyphs: its short
  // side (a rotated label's width) is taken at 80%.
  const glyphs = (b) => { const h = b.height < b.width, d = 0.1 * Math.min(b.width, b.height);
    return h ? {left: b.left, right: b.right, top: b.top + d, bottom: b.bottom - d} : {left: b.left + d, right: b.right - d, top: b.top, bottom: b.bottom}; };
  const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, glyphs(t.getBoundingClientRect())]);
  const marks = [...svg.querySelectorAll('path')].slice(1).map(p => p.getBoundingClientRect());
  r.Texts += texts.length;
  texts.forEach(([s, a], j) => {
    if (a.left < box.left - 1 || a.right > box.right + 1 || a.top < box.top - 1 || a.bottom > box.bottom + 1) r.Overlaps.push('chart ' + i + ': "' + s + '" past the edge' + dims(a) + dims(box));
    marks.forEach((b, k) => { if (over(a, b)) r.Overlaps.push('chart ' + i + ': "' + s + '" over path ' + k); });
    texts.slice(j + 1).forEach(([s2, b]) => { if (over(a, b)) r.Overlaps.push('chart ' + i + ': "' + s + '" over "' + s2 + '"' + dims(a) + dims(b)); });
  });
});
document.body.setAttribute('data-measure', JSON.stringify(r));
</script>`

var measured = regexp.MustCompile(`data-measure="([^"]*)"`)

// TestReportInChromium loads report.html of a real recorded run in Debian's
// chromium, headless (the test command installs it), at 1280, 1400 and
// 1920 px: the page must not scroll sideways, every chart must be drawn at
// a non-zero size inside the window, and so must the colour keys that
// stand for the charts' legends.
func TestReportInChromium(t *testing.T) {
	var page bytes.Buffer
	if err := HTML(&page, recorded(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "<script") {
		t.Fatal("report.html has a script")
	}
	for _, width := range []string{"1280", "1400", "1920"} {
		got := inChromium(t, page.String(), width)
		got.laidOut(t, width, 10, 5, 100)
		if got.Headline != "Headline: vm vs container" {
			t.Errorf("at %s px the headline chart is %q", width, got.Headline)
		}
	}
}

// laidOut checks a measured page: it does not scroll sideways, it has at
// least svgs charts, keys colour keys and texts texts in its charts, each
// chart and key drawn at a non-zero size inside the window, and no text of
// a chart runs into a plot, over a mark or another text, or past its edge.
func (got measure) laidOut(t *testing.T, width string, svgs, keys, texts int) {
	t.Helper()
	if got.ScrollW > got.ClientW {
		t.Errorf("at %s px the page is %.0f px wide: it scrolls sideways", width, got.ScrollW)
	}
	if len(got.SVGs) < svgs || len(got.Keys) < keys {
		t.Errorf("at %s px: %d charts and %d colour keys, want %d and %d", width, len(got.SVGs), len(got.Keys), svgs, keys)
	}
	for i, s := range got.SVGs {
		if s[0] <= 0 || s[1] <= 0 || s[2] > got.ClientW {
			t.Errorf("at %s px chart %d is %.0f×%.0f px, its right edge at %.0f", width, i, s[0], s[1], s[2])
		}
	}
	if got.Texts < texts {
		t.Errorf("at %s px the charts have %d texts", width, got.Texts)
	}
	for _, o := range got.Overlaps {
		t.Errorf("at %s px %s", width, o)
	}
	for i, k := range got.Keys {
		if k <= 0 || k > got.ClientW {
			t.Errorf("at %s px colour key %d ends at %.0f px", width, i, k)
		}
	}
}

// inChromium loads the page in Debian's chromium, headless (the test
// command installs it), in a window width px wide, and measures it.
func inChromium(t *testing.T, page, width string) measure {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: the test command installs it (apt-get install -y chromium)")
	}
	path := filepath.Join(t.TempDir(), "page.html")
	os.WriteFile(path, []byte(strings.Replace(page, "</body>", measureScript+"</body>", 1)), 0o644)
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
	return got
}

// history.html in Chromium: twelve runs and a step at the eighth, each
// series a chart inside the window, no text over a mark or another text.
func TestHistoryInChromium(t *testing.T) {
	p := TrendPage{Title: "vmbench history: creep", Platforms: []string{"native", "box"}, Header: []string{"series", "from run"}, Rows: [][]string{{"cpu.throughput: box vs native", "#8 commit=c08"}}}
	for k, unit := range []string{"", "GB/s"} {
		tr := Trend{Title: "series " + unit, Platform: "box", Overhead: unit == "", Unit: unit, Changes: []int{7}}
		for i := range 12 {
			v := 0.01 * float64(i%3)
			if i >= 7 {
				v += 1.05
			}
			if k == 1 {
				v = 1.7e9 - 0.8e9*float64(min(1, i/7))
			}
			tr.Runs = append(tr.Runs, fmt.Sprintf("commit=c%02d", i+1))
			tr.X, tr.Values = append(tr.X, i), append(tr.Values, v)
			tr.Lo, tr.Hi = append(tr.Lo, v*0.97), append(tr.Hi, v*1.05)
		}
		tr.Levels = []TrendLevel{{From: 0, To: 7, Level: tr.Values[0]}, {From: 7, To: 12, Level: tr.Values[11]}}
		p.Trends = append(p.Trends, tr)
	}
	var page bytes.Buffer
	if err := TrendHTML(&page, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "<script") {
		t.Fatal("history.html has a script")
	}
	for _, width := range []string{"1280", "1920"} {
		inChromium(t, page.String(), width).laidOut(t, width, 2, 1, 20)
	}
}
