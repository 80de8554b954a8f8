package agent

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// FuzzParseOutput: whatever an agent (or a runtime before it) prints, the
// host reads a result or an error, never panics.
func FuzzParseOutput(f *testing.F) {
	f.Add([]byte(`{"result":{"metrics":[{"name":"throughput","unit":"B/s","value":1e9}]}}`))
	f.Add([]byte("runc warning\n{\"error\":\"boom\"}\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, out []byte) { ParseOutput(out) })
}

// FuzzServe: the guest side of the protocol survives any bytes on its
// port, and answers what it can.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"id":1,"op":"run","request":{"type":"cpu","params":{"duration":"10ms"}}}` + "\n" + `{"id":1,"op":"cancel"}` + "\n"))
	f.Add([]byte(`{"id":2,"op":"run"}` + "\n{not json\n" + `{"op":"shutdown"}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		Serve(context.Background(), rw, Hello{}, func(ctx context.Context, req Request, container bool) Response {
			return Response{Error: "not run in a fuzz test"}
		})
	})
}
