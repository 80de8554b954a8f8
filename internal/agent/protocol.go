package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vmbench/vmbench/internal/workload"
)

// The host and the agent in a guest talk over a virtio-serial port with one
// JSON Message per line. The guest speaks first (hello), then answers each
// run with a result of the same id. The host may cancel the run in flight
// and finally asks the guest to shut down.
const (
	OpHello    = "hello"
	OpRun      = "run"
	OpCancel   = "cancel"
	OpResult   = "result"
	OpShutdown = "shutdown"
)

// Message is one line of the protocol.
type Message struct {
	ID        int64     `json:"id,omitempty"`
	Op        string    `json:"op"`
	Hello     *Hello    `json:"hello,omitempty"`
	Request   *Request  `json:"request,omitempty"`
	Container bool      `json:"container,omitempty"` // run: in runc, else as a guest process
	Response  *Response `json:"response,omitempty"`
}

// Hello is what the guest says about itself once it is ready.
type Hello struct {
	Kernel  string   `json:"kernel"`
	CPUs    int      `json:"cpus"`
	MemoryB uint64   `json:"memory_bytes"`
	InitAt  float64  `json:"init_at_s"`  // guest uptime when init started: the kernel's boot time
	ReadyAt float64  `json:"ready_at_s"` // guest uptime when the agent was ready
	Runc    string   `json:"runc,omitempty"`
	Modules []string `json:"modules,omitempty"`
	Notes   []string `json:"notes,omitempty"` // set-up problems the agent survived
	// Machine is what a remote machine's agent says of the machine:
	// CPU model, cores, memory, kernel, hypervisor, runtime versions.
	Machine map[string]string `json:"machine,omitempty"`
}

// Handler runs one request in the guest; it returns promptly when ctx is
// cancelled.
type Handler func(ctx context.Context, req Request, container bool) Response

// Serve speaks the guest side of the protocol on rw: it sends hello, runs
// each request (one at a time) with h, and returns when the host asks for
// shutdown or the port closes.
func Serve(ctx context.Context, rw io.ReadWriter, hello Hello, h Handler) error {
	enc := json.NewEncoder(rw)
	var encMu sync.Mutex
	send := func(m Message) error {
		encMu.Lock()
		defer encMu.Unlock()
		return enc.Encode(m)
	}
	if err := send(Message{Op: OpHello, Hello: &hello}); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	var (
		mu      sync.Mutex
		cancels = map[int64]context.CancelFunc{}
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	defer func() {
		mu.Lock()
		for _, c := range cancels {
			c()
		}
		mu.Unlock()
	}()
	sc := bufio.NewScanner(rw)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // noise on the line; the host will time out on its request
		}
		switch m.Op {
		case OpRun:
			if m.Request == nil {
				send(Message{ID: m.ID, Op: OpResult, Response: &Response{Error: "run without a request"}})
				continue
			}
			rctx, cancel := context.WithCancel(ctx)
			mu.Lock()
			cancels[m.ID] = cancel
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := h(rctx, *m.Request, m.Container)
				mu.Lock()
				delete(cancels, m.ID)
				mu.Unlock()
				cancel()
				send(Message{ID: m.ID, Op: OpResult, Response: &resp})
			}()
		case OpCancel:
			mu.Lock()
			if c := cancels[m.ID]; c != nil {
				c()
			}
			mu.Unlock()
		case OpShutdown:
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// Link is the host side of the protocol.
type Link struct {
	conn   io.ReadWriteCloser
	enc    *json.Encoder
	encMu  sync.Mutex
	hello  chan Hello
	mu     sync.Mutex
	nextID int64
	wait   map[int64]chan Response
	err    error // why the link closed
	done   chan struct{}
}

// NewLink starts reading conn. Messages before hello are not expected;
// anything that is not a message is ignored.
func NewLink(conn io.ReadWriteCloser) *Link {
	l := &Link{conn: conn, enc: json.NewEncoder(conn), hello: make(chan Hello, 1), wait: map[int64]chan Response{}, done: make(chan struct{})}
	go l.read()
	return l
}

func (l *Link) read() {
	sc := bufio.NewScanner(l.conn)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m Message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch m.Op {
		case OpHello:
			if m.Hello != nil {
				select {
				case l.hello <- *m.Hello:
				default:
				}
			}
		case OpResult:
			l.mu.Lock()
			ch := l.wait[m.ID]
			delete(l.wait, m.ID)
			l.mu.Unlock()
			if ch != nil && m.Response != nil {
				ch <- *m.Response
			}
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	close(l.done)
}

// ErrLinkClosed is returned when the guest side went away.
var ErrLinkClosed = errors.New("agent link closed")

func (l *Link) closedErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Errorf("%w: %v", ErrLinkClosed, l.err)
}

// Hello waits for the guest's hello.
func (l *Link) Hello(ctx context.Context) (Hello, error) {
	select {
	case h := <-l.hello:
		return h, nil
	case <-l.done:
		return Hello{}, l.closedErr()
	case <-ctx.Done():
		return Hello{}, ctx.Err()
	}
}

func (l *Link) send(m Message) error {
	l.encMu.Lock()
	defer l.encMu.Unlock()
	return l.enc.Encode(m)
}

// CancelGrace is how long Run waits for the guest to confirm a cancel.
var CancelGrace = 10 * time.Second

// ErrStuck is returned when the guest did not end a cancelled run in time:
// the guest is wedged and should be restarted.
var ErrStuck = errors.New("the guest did not stop the trial")

// Run asks the guest to run req and waits for its result. When ctx is
// cancelled it asks the guest to cancel and waits up to CancelGrace for the
// run to end, so that the next trial does not start beside a leftover one.
func (l *Link) Run(ctx context.Context, req Request, container bool) (workload.Result, error) {
	res, _, err := l.RunCPU(ctx, req, container)
	return res, err
}

// RunCPU is Run, with the CPU time the agent measured of the trial's
// processes on its machine (Response.CPU).
func (l *Link) RunCPU(ctx context.Context, req Request, container bool) (workload.Result, float64, error) {
	l.mu.Lock()
	l.nextID++
	id := l.nextID
	ch := make(chan Response, 1)
	l.wait[id] = ch
	l.mu.Unlock()
	if err := l.send(Message{ID: id, Op: OpRun, Request: &req, Container: container}); err != nil {
		// A link that cannot be written to is as gone as one that ended.
		return workload.Result{}, 0, fmt.Errorf("%w: send request: %v", ErrLinkClosed, err)
	}
	select {
	case resp := <-ch:
		res, err := responseResult(resp)
		return res, resp.CPU, err
	case <-l.done:
		return workload.Result{}, 0, l.closedErr()
	case <-ctx.Done():
	}
	l.send(Message{ID: id, Op: OpCancel})
	select {
	case <-ch:
		return workload.Result{}, 0, ctx.Err()
	case <-l.done:
		return workload.Result{}, 0, l.closedErr()
	case <-time.After(CancelGrace):
		return workload.Result{}, 0, fmt.Errorf("%w; %w within %s", ctx.Err(), ErrStuck, CancelGrace)
	}
}

// ErrNoMetrics is returned for a response that measured nothing.
var ErrNoMetrics = errors.New("agent returned no metrics")

func responseResult(r Response) (workload.Result, error) {
	if r.Error != "" {
		return r.Result, errors.New(r.Error)
	}
	if len(r.Metrics) == 0 {
		return r.Result, ErrNoMetrics
	}
	return r.Result, nil
}

// Shutdown asks the guest to power off. It does not wait.
func (l *Link) Shutdown() error { return l.send(Message{Op: OpShutdown}) }

// Close closes the connection.
func (l *Link) Close() error { return l.conn.Close() }
