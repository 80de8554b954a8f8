package units

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "4096", want: 4096},
		{in: "64KiB", want: 64 << 10},
		{in: "1GiB", want: 1 << 30},
		{in: "512M", want: 512 << 20},
		{in: "1GB", want: 1e9},
		{in: "1.5GiB", want: 3 << 29},
		{in: "lots", bad: true},
		{in: "-1M", bad: true},
	} {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{1.234e9, "B/s", "1.23 GB/s"},
		{45.6e-6, "s", "45.6 µs"},
		{812345, "ops/s", "812 kops/s"},
		{2.5, "s", "2.50 s"},
		{12e-9, "s", "12.0 ns"},
		{0.25, "ratio", "0.25"},
		{0.0277, "s/GB", "0.0277 s/GB"},
		{0.03, "s/GB", "0.0300 s/GB"},
		{0, "B/s", "0.00 B/s"},
	} {
		if got := Format(tc.v, tc.unit); got != tc.want {
			t.Errorf("Format(%g, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
	if got := FormatSize(64 << 20); got != "64MiB" {
		t.Errorf("FormatSize = %q", got)
	}
}

func TestOverhead(t *testing.T) {
	for f, want := range map[float64]string{0.086: "+8.6%", -0.5: "-50.0%", 1.4: "×2.40", 9.5: "×10.5", 158.773: "×160"} {
		if got := Overhead(f); got != want {
			t.Errorf("Overhead(%g) = %q, want %q", f, got, want)
		}
	}
}
