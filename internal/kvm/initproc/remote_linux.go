package initproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/hostinfo"
	"github.com/vmbench/vmbench/internal/platform"
)

// RemoteOptions are how a remote machine's agent was placed and serves.
type RemoteOptions struct {
	// Dir is the placement: the private directory (root's, 0700) the
	// controller made with mktemp -d and copied the agent into. The agent
	// removes it when the link ends.
	Dir     string
	Runtime string // the machine's OCI runtime: runc or crun
	Listen  string // the address servers listen on; "": every address
	Client  ClientFunc
}

// Remote is the agent on a machine vmbench does not manage, started over
// SSH: it speaks the protocol on in and out (the SSH session's stdio), runs
// each trial in the machine's own runtime from a bundle in the placement
// directory, and when the link ends — the controller said shutdown, its
// session dropped, or it was killed — stops what runs, deletes its
// containers and removes the placement directory. It runs nothing after
// it returns.
func Remote(self string, o RemoteOptions, in io.Reader, out io.Writer) error {
	if err := checkPlacement(o.Dir, self); err != nil {
		return err
	}
	hello := agent.Hello{Kernel: kernelRelease(), CPUs: runtime.NumCPU(), MemoryB: memTotal(), Machine: hostinfo.Machine()}
	h := &handler{
		self: self, hostNetwork: true, bundle: filepath.Join(o.Dir, "bundle"),
		idPrefix:   "vmbench-remote-" + strings.TrimPrefix(filepath.Base(o.Dir), "tmp."),
		scratchDir: filepath.Join(o.Dir, "scratch"), listen: o.Listen, client: o.Client,
	}
	if err := os.Mkdir(h.scratchDir, 0o700); err != nil {
		return err
	}
	if rt, err := platform.NewRuntime(o.Runtime, self); err != nil {
		hello.Notes = append(hello.Notes, err.Error())
	} else {
		h.rt = rt
		hello.Runc = rt.Version()
		hello.Machine["runtime"] = firstLine(hello.Runc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The session's end may come as a signal (sshd's SIGHUP, a broken
	// pipe on stdout, the controller's own kill) instead of EOF: each
	// ends the link the same way. SIGPIPE caught is a write error, not
	// the exit Go gives it on stdout.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() {
		served <- agent.Serve(ctx, struct {
			io.Reader
			io.Writer
		}{in, out}, hello, h.handle)
	}()
	var err error
	select {
	case err = <-served:
	case s := <-sigs:
		err = fmt.Errorf("signal %v", s)
	}
	cancel()
	// Whether the link ended or a signal came, wait for the runs in flight
	// to see their cancellation, as long as runc's kill takes: a run still
	// writing its bundle would put it back after the placement is removed
	// (under load, a lost session left bundle/rootfs behind).
	waitRuns(h, 15*time.Second)
	logf("link ended (%v); removing %s", err, o.Dir)
	return h.tidy(o.Dir)
}

// checkPlacement refuses to serve from a directory that is not a private
// one of this user's, holding this agent: the agent removes it at the end.
func checkPlacement(dir, self string) error {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || dir == "/" {
		return fmt.Errorf("placement %q: not a clean absolute path", dir)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("placement: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || st.Mode().Perm() != 0o700 || !ok || int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("placement %s: not a private directory of uid %d (mode 0700, made by mktemp -d)", dir, os.Geteuid())
	}
	if filepath.Dir(self) != dir {
		return fmt.Errorf("placement %s: the agent %s is not in it", dir, self)
	}
	return nil
}

// waitRuns waits up to grace for the handler's runs in flight to end.
func waitRuns(h *handler, grace time.Duration) {
	done := make(chan struct{})
	go func() { h.runs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
	}
}

// tidy deletes the containers this agent started that are still known to
// the runtime, and removes the placement directory.
func (h *handler) tidy(dir string) error {
	var errs []error
	if h.rt != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ids, err := h.rt.List(ctx)
		cancel()
		errs = append(errs, err)
		for _, id := range ids {
			if strings.HasPrefix(id, h.idPrefix+"-") {
				errs = append(errs, h.rt.Delete(id))
			}
		}
	}
	errs = append(errs, os.RemoveAll(dir))
	return errors.Join(errs...)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
