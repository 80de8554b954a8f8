package workload

import (
	"bytes"
	"fmt"
	"testing"
)

// An app that prints without end is kept to MaxOutput bytes, its head and
// its tail, and says how much was cut.
func TestOutputKeepsHeadAndTail(t *testing.T) {
	var o Output
	o.Write([]byte("FIRST\n"))
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for range 80 { // 5 MiB
		o.Write(chunk)
	}
	o.Write([]byte("\nLAST 42\n"))
	b := o.Bytes()
	if len(b) > MaxOutput+100 || !bytes.HasPrefix(b, []byte("FIRST\n")) || !bytes.HasSuffix(b, []byte("LAST 42\n")) {
		t.Errorf("kept %d bytes, from %q to %q", len(b), b[:10], b[len(b)-10:])
	}
	want := fmt.Sprintf("…[%d bytes of output cut]…", 6+80*64<<10+9-MaxOutput)
	if !bytes.Contains(b, []byte(want)) {
		t.Errorf("no %q", want)
	}
	var small Output
	small.Write([]byte("a"))
	small.Write([]byte("b"))
	if small.String() != "ab" {
		t.Errorf("%q", small.String())
	}
}
