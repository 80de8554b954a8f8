package remote

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/platform"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/scenario"
)

// Platform is a remote machine.
type Platform struct {
	PlatformName string
	RunID        string
	RunDir       string // receives <platform>-agent.log: the agent's standard error
	Binary       string // the static vmbench binary placed on the machine
	options.RemoteOptions
	Sample time.Duration

	binOnce sync.Once
	bin     []byte // the binary, read once
	binSum  string // its sha256
	binErr  error
}

var _ platform.Platform = (*Platform)(nil)

func (p *Platform) Name() string { return p.PlatformName }

// Instance is the agent placed on the machine, and its session.
type Instance struct {
	p       *Platform
	ssh     *SSH
	dir     string // the placement on the machine; "": none
	listen  string // where its servers listen: a loopback address of its own, or every address
	agent   *exec.Cmd
	link    *agent.Link
	hello   agent.Hello
	log     string // path of the agent log
	seccomp *specs.LinuxSeccomp
	info    map[string]string
	mu      sync.Mutex // one trial at a time
	closeMu sync.Mutex
	closed  bool
	lost    int // sessions lost and made again
}

var (
	_ platform.Instance     = (*Instance)(nil)
	_ platform.Addressed    = (*Instance)(nil)
	_ platform.ClientRunner = (*Instance)(nil)
)

// Start connects to the machine, checks it, places the agent and waits for
// its hello. The returned Instance, also on error, must be closed.
func (p *Platform) Start(ctx context.Context) (platform.Instance, error) {
	var seccomp *specs.LinuxSeccomp
	if path := options.SeccompPath(p.Seccomp); path != "" && p.Container {
		var err error
		if seccomp, err = platform.LoadSeccomp(path, platform.BundleCaps); err != nil {
			return nil, err
		}
	}
	i := &Instance{p: p, seccomp: seccomp, log: filepath.Join(p.RunDir, platform.FileName(p.PlatformName)+"-agent.log"), info: map[string]string{
		"host": p.Host, "kind": p.Kind, "container": strconv.FormatBool(p.Container), "runtime": p.Runtime,
		"client": p.Client, "role": scenario.RemoteRole(p.Kind, p.Container),
	}}
	i.info["agent_log"] = i.log
	if p.Container {
		i.info["seccomp"] = platform.SeccompInfo(p.Seccomp, seccomp)
	}
	if p.Kind == options.KindVM {
		i.info["not_measured"] = "host CPU and footprint: the hypervisor's side of a VM vmbench does not manage is invisible from inside it"
	}
	if p.Client == options.ClientRemote {
		i.listen = randomLoopback()
		i.info["network_path"] = "client and server on the machine (" + i.listen + "), the container sharing its network namespace"
	} else {
		i.info["network_path"] = "client on the controller, server on the machine: across the physical network"
	}
	if err := i.connect(ctx); err != nil {
		return i, err
	}
	for k, v := range i.hello.Machine {
		i.info["machine_"+k] = v
	}
	return i, nil
}

// randomLoopback is a loopback address no other instance is likely to
// have, for its servers: two instances on one machine (a density sweep)
// must not share a port.
func randomLoopback() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("127.%d.%d.%d", b[0], b[1], 1+b[2]%254)
}

// Check connects to the machine and checks it as Start would, without
// placing anything: vmbench doctor --scenario.
func (p *Platform) Check(ctx context.Context) (map[string]string, error) {
	s := &SSH{Host: p.Host, Config: p.SSHConfig, Timeout: p.ConnectTimeout, Where: p.where()}
	if err := s.Dial(ctx); err != nil {
		return nil, err
	}
	defer s.Close()
	return p.probe(ctx, s)
}

func (p *Platform) where() string {
	return fmt.Sprintf("platform %s (host %s)", p.PlatformName, p.Host)
}

// binary reads the agent binary and its digest once.
func (p *Platform) binary() ([]byte, string, error) {
	p.binOnce.Do(func() {
		if p.binErr = platform.CheckStatic(p.Binary); p.binErr != nil {
			return
		}
		if p.bin, p.binErr = os.ReadFile(p.Binary); p.binErr == nil {
			sum := sha256.Sum256(p.bin)
			p.binSum = hex.EncodeToString(sum[:])
		}
	})
	return p.bin, p.binSum, p.binErr
}

// probe checks what the machine must be: reachable (s is connected),
// root or passwordless sudo, x86-64, the runtime installed, and room for
// the placement. It says what it found.
func (p *Platform) probe(ctx context.Context, s *SSH) (map[string]string, error) {
	out, err := s.Output(ctx, `uname -m; id -u; if [ "$(id -u)" != 0 ]; then sudo -n true 2>/dev/null && echo sudo || echo nosudo; else echo root; fi`, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: the login's shell could not run uname and id (is it a POSIX shell?): %w", p.where(), err)
	}
	f := strings.Fields(out)
	if len(f) != 3 {
		return nil, fmt.Errorf("%s: the machine's shell answered %q to uname -m; id -u: is it a POSIX system?", p.where(), out)
	}
	found := map[string]string{"arch": f[0], "uid": f[1]}
	if f[0] != "x86_64" {
		return found, fmt.Errorf("%s: the machine is %s; vmbench's agent is built for x86-64 only", p.where(), f[0])
	}
	switch f[2] {
	case "nosudo":
		return found, fmt.Errorf("%s: the login is uid %s, not root, and sudo -n asks for a password: log in as root (User root in your SSH configuration), or give the login passwordless sudo; the agent needs root for containers", p.where(), f[1])
	case "sudo":
		s.sudo = true
		found["sudo"] = "passwordless"
	}
	bin, _, err := p.binary()
	if err != nil {
		return found, err
	}
	// The runtime's name is one of the scenario's choices (validated),
	// quoted anyway.
	out, err = s.Output(ctx, `command -v `+Quote(p.Runtime)+` || echo missing; df -Pk "${TMPDIR:-/tmp}" | awk 'NR==2 {print $4}'`, nil)
	if err != nil {
		return found, fmt.Errorf("%s: look for %s and free space: %w", p.where(), p.Runtime, err)
	}
	f = strings.Fields(out)
	if len(f) != 2 {
		return found, fmt.Errorf("%s: could not read the runtime and free space: %q", p.where(), out)
	}
	if p.Container && f[0] == "missing" {
		return found, fmt.Errorf("%s: %s is not installed on the machine (root's PATH): install it there (apt-get install -y %s), or set container: false", p.where(), p.Runtime, p.Runtime)
	}
	found["runtime_path"] = f[0]
	free, _ := strconv.ParseInt(f[1], 10, 64)
	// The agent, the bundle's copy of it, and room for the scratch area.
	need := 2*int64(len(bin)) + 64<<20
	found["free_bytes"] = strconv.FormatInt(free<<10, 10)
	if free<<10 < need {
		return found, fmt.Errorf("%s: %d MiB free in the machine's temporary directory, the placement needs %d MiB: free some, or point TMPDIR elsewhere", p.where(), free>>10, need>>20)
	}
	return found, nil
}

// placementRE is what mktemp -d prints: an absolute path vmbench quotes
// into later commands.
var placementRE = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)

// connect makes the SSH connection, checks the machine, places the agent
// (a fresh mktemp -d directory, the binary verified by sha256) and starts
// it on the session's stdio.
func (i *Instance) connect(ctx context.Context) error {
	p := i.p
	i.ssh = &SSH{Host: p.Host, Config: p.SSHConfig, Timeout: p.ConnectTimeout, Where: p.where(), Prefix: result.Name(p.RunID, platform.FileName(p.PlatformName), "ssh") + "-"}
	if err := i.ssh.Dial(ctx); err != nil {
		return err
	}
	found, err := p.probe(ctx, i.ssh)
	for k, v := range found {
		i.info[k] = v
	}
	if err != nil {
		return err
	}
	bin, sum, err := p.binary()
	if err != nil {
		return err
	}
	out, err := i.ssh.Output(ctx, `umask 077 && mktemp -d`, nil)
	if err != nil {
		return fmt.Errorf("%s: placement: mktemp -d: %w", p.where(), err)
	}
	dir := strings.TrimSpace(out)
	if !placementRE.MatchString(dir) || dir == "/" {
		return fmt.Errorf("%s: mktemp -d printed %q, not a directory's path", p.where(), dir)
	}
	i.dir = dir
	i.info["placement"] = dir
	agentPath := dir + "/vmbench"
	out, err = i.ssh.Output(ctx, "cat > "+Quote(agentPath)+" && chmod 0700 "+Quote(agentPath)+" && sha256sum "+Quote(agentPath), bin)
	if err != nil {
		return fmt.Errorf("%s: placement: copy the agent to %s: %w", p.where(), dir, err)
	}
	if got, _, _ := strings.Cut(strings.TrimSpace(out), " "); got != sum {
		return fmt.Errorf("%s: the agent placed in %s has sha256 %q, not %s: the copy was damaged", p.where(), dir, got, sum)
	}
	i.info["agent_sha256"] = sum
	script := "exec " + Quote(agentPath) + " agent remote --runtime " + Quote(p.Runtime)
	if i.listen != "" {
		script += " --listen " + Quote(i.listen)
	}
	script += " " + Quote(dir)
	logf, err := safefs.OpenFile(p.RunDir, filepath.Base(i.log), os.O_WRONLY|os.O_CREATE|os.O_APPEND, result.FileMode)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := i.ssh.Command(context.WithoutCancel(ctx), script)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	i.agent = cmd
	i.link = agent.NewLink(session{stdout, stdin})
	hctx, cancel := context.WithTimeout(ctx, p.ConnectTimeout)
	defer cancel()
	if i.hello, err = i.link.Hello(hctx); err != nil {
		return fmt.Errorf("%s: the agent did not say hello: %v%s", p.where(), err, tail(i.log))
	}
	if p.Container && i.hello.Runc == "" {
		return fmt.Errorf("%s: the agent has no runtime: %s", p.where(), strings.Join(i.hello.Notes, "; "))
	}
	return nil
}

// session is the agent's stdio as one connection.
type session struct {
	io.ReadCloser
	w io.WriteCloser
}

func (s session) Write(b []byte) (int, error) { return s.w.Write(b) }
func (s session) Close() error                { return errors.Join(s.w.Close(), s.ReadCloser.Close()) }

// tail is the end of the agent log, for an error.
func tail(path string) string {
	if t := kvm.ConsoleTail(path); t != "" {
		return "; agent log " + path + ":" + t
	}
	return ""
}

// Run runs one trial on the machine.
func (i *Instance) Run(ctx context.Context, req agent.Request) (platform.Output, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.link == nil {
		i.disconnect()
		if err := i.connect(ctx); err != nil {
			return platform.Output{}, fmt.Errorf("connect again: %w", err)
		}
	}
	req.Sample, req.Seccomp = i.p.Sample.Seconds(), i.seccomp
	req.Client = req.Port > 0 && i.p.Client == options.ClientRemote
	var out platform.Output
	var cpu float64
	var err error
	out.Result, cpu, err = i.link.RunCPU(ctx, req, i.p.Container)
	if i.p.Kind == options.KindMetal {
		out.HostCPU = cpu // the machine is the host: its CPU is the trial's host CPU
	}
	if !errors.Is(err, agent.ErrLinkClosed) && !errors.Is(err, agent.ErrStuck) {
		return out, err
	}
	// The session dropped (the network, sshd, the machine): the trial
	// failed with what SSH said; the agent on the machine ended with
	// its session and removed its placement. Connect again for the
	// next trials, and have this one run once more if that works.
	i.lost++
	i.info["sessions_lost"] = strconv.Itoa(i.lost)
	err = fmt.Errorf("%s: the SSH session was lost: %w%s", i.p.where(), err, tail(i.log))
	i.disconnect()
	if ctx.Err() != nil {
		return out, err
	}
	if cerr := i.connect(context.WithoutCancel(ctx)); cerr != nil {
		i.disconnect()
		return out, errors.Join(err, fmt.Errorf("connect again: %w", cerr))
	}
	return out, errors.Join(err, fmt.Errorf("%w: connected again for the next trials", platform.ErrRestarted))
}

// RunsClient: the machine runs network clients itself, unless the
// scenario put them on the controller.
func (i *Instance) RunsClient() bool { return i.p.Client == options.ClientRemote }

// Addr is the machine's address as SSH resolves it, for clients on the
// controller; "" with client: remote.
func (i *Instance) Addr() string {
	if i.p.Client != options.ClientController || i.ssh == nil {
		return ""
	}
	out, err := exec.Command("ssh", append(i.ssh.base(), "-G", "--", i.p.Host)...).Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "hostname "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Info describes the machine and the placement for run.json.
func (i *Instance) Info() map[string]string { return i.info }

// disconnect ends the agent's session (the agent then removes its
// placement), removes the placement itself in case the agent could not,
// and closes the connection.
func (i *Instance) disconnect() {
	if i.link != nil {
		i.link.Shutdown()
	}
	if i.agent != nil {
		done := make(chan struct{})
		go func() { i.agent.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			i.agent.Process.Kill()
			<-done
		}
		i.agent = nil
	}
	if i.link != nil {
		i.link.Close()
		i.link = nil
	}
	if i.dir != "" && i.ssh != nil {
		ctx, cancel := context.WithTimeout(context.Background(), i.p.ConnectTimeout)
		i.ssh.Output(ctx, "rm -rf -- "+Quote(i.dir), nil)
		cancel()
		i.dir = ""
	}
	if i.ssh != nil {
		i.ssh.Close()
		i.ssh = nil
	}
}

// Close ends the session and leaves nothing on the machine. Idempotent.
func (i *Instance) Close(context.Context) error {
	i.closeMu.Lock()
	defer i.closeMu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	i.mu.Lock()
	defer i.mu.Unlock()
	i.disconnect()
	return nil
}
