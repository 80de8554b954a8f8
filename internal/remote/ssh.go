// Package remote is the remote platform: a machine vmbench does not manage
// (a VM on any hypervisor, or a bare-metal twin) reached with the user's
// own OpenSSH. vmbench checks the machine, places its static agent in a
// fresh private directory there, speaks the agent protocol over the SSH
// session's stdio (no port is opened on the machine), and removes the
// placement at the end; the agent removes it too when its session drops.
package remote

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SSH is a connection to one machine: an OpenSSH control master this
// process started, which every command to the machine goes through.
type SSH struct {
	Host    string        // [user@]host, or a Host alias of the configuration
	Config  string        // ssh -F; "": the user's own
	Timeout time.Duration // connecting
	Where   string        // what to call it in errors: the platform and host
	// Prefix starts the name of the control socket's local directory
	// (vmbench-<run>-<platform>-ssh-: vmbench cleanup knows it).
	Prefix string

	dir    string    // private local directory of the control socket
	master *exec.Cmd // ssh -N -M
	errBuf *bytes.Buffer
	sudo   bool // the login is not root: commands go through sudo -n
}

// base are the options of every ssh command: no prompt ever (BatchMode),
// host keys checked against known_hosts and never accepted unseen, and a
// dead connection noticed within 30 s.
func (s *SSH) base() []string {
	var a []string
	if s.Config != "" {
		a = append(a, "-F", s.Config)
	}
	return append(a, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "ConnectTimeout="+strconv.Itoa(max(1, int(s.Timeout.Seconds()))),
		"-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
		"-o", "ControlPath="+filepath.Join(s.dir, "c"))
}

// Dial starts the control master and waits until it is connected; an error
// says what OpenSSH said, and what to do about it.
func (s *SSH) Dial(ctx context.Context) error {
	var err error
	if s.dir, err = os.MkdirTemp("", cmp.Or(s.Prefix, "vmbench-ssh-")); err != nil {
		return err
	}
	s.errBuf = &bytes.Buffer{}
	args := append(s.base(), "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=no", "--", s.Host)
	s.master = exec.Command("ssh", args...)
	s.master.Stderr = s.errBuf
	// The master goes with this process: a controller killed outright
	// leaves no ssh behind, and its sessions on the machine end.
	s.master.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := s.master.Start(); err != nil {
		s.Close()
		return fmt.Errorf("%s: ssh: %w (install OpenSSH's client: apt-get install -y openssh-client)", s.Where, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.master.Wait() }()
	deadline := time.After(s.Timeout + 5*time.Second)
	for {
		select {
		case err := <-exited:
			s.master = nil
			s.Close()
			return s.dialError(err)
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-deadline:
			s.Close()
			return fmt.Errorf("%s: no SSH connection within %s", s.Where, s.Timeout)
		case <-time.After(50 * time.Millisecond):
		}
		if exec.CommandContext(ctx, "ssh", append(s.base(), "-O", "check", "--", s.Host)...).Run() == nil {
			go func() { <-exited }()
			return nil
		}
	}
}

var offendingRE = regexp.MustCompile(`Offending \S+ key in (\S+):(\d+)`)

// dialError explains why the master could not connect, quoting OpenSSH.
func (s *SSH) dialError(err error) error {
	said := strings.TrimSpace(s.errBuf.String())
	var fix string
	switch {
	case strings.Contains(said, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		fix = "its host key is not the one known_hosts holds, so vmbench refuses it"
		if m := offendingRE.FindStringSubmatch(said); m != nil {
			fix += fmt.Sprintf(" (%s:%s: %s)", m[1], m[2], knownHostsLine(m[1], m[2]))
		}
		fix += "; if the machine was reinstalled, check its new key out of band, then ssh-keygen -R HOST and record it"
	case strings.Contains(said, "Host key verification failed"), strings.Contains(said, "No ") && strings.Contains(said, "host key is known"):
		fix = "its host key is not in known_hosts, and vmbench never accepts an unseen key: check the key's fingerprint and record it (ssh to it once, or ssh-keyscan into known_hosts)"
	case strings.Contains(said, "Permission denied"):
		fix = "authentication was refused: load the key into ssh-agent or name it with IdentityFile in your SSH configuration (vmbench never prompts: BatchMode=yes)"
	case strings.Contains(said, "Connection refused"), strings.Contains(said, "timed out"), strings.Contains(said, "Could not resolve"), strings.Contains(said, "No route"), strings.Contains(said, "Network is unreachable"):
		fix = "the machine is unreachable: check the address, the port and that sshd runs there"
	default:
		fix = "ssh could not connect"
	}
	if said == "" {
		said = fmt.Sprint(err)
	}
	return fmt.Errorf("%s: %s; ssh said: %s", s.Where, fix, lastLines(said, 6))
}

// knownHostsLine is line n of a known_hosts file, shortened.
func knownHostsLine(path, n string) string {
	k, _ := strconv.Atoi(n)
	f, err := os.Open(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == k {
			line := sc.Text()
			if len(line) > 120 {
				line = line[:120] + "…"
			}
			return line
		}
	}
	return "(no such line)"
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// Command is a command on the machine, through the master. script is a
// shell command line for the machine's shell (ssh sends one), made by the
// caller from constants and quoted values only; as root through sudo -n
// when the login is not root.
func (s *SSH) Command(ctx context.Context, script string) *exec.Cmd {
	if s.sudo {
		script = "sudo -n sh -c " + Quote(script)
	}
	return exec.CommandContext(ctx, "ssh", append(s.base(), "-o", "ControlMaster=no", "--", s.Host, script)...)
}

// Output runs script on the machine and returns its standard output; an
// error quotes its standard error (the caller names the machine).
func (s *SSH) Output(ctx context.Context, script string, stdin []byte) (string, error) {
	cmd := s.Command(ctx, script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, lastLines(strings.TrimSpace(stderr.String()), 4))
	}
	return string(out), nil
}

// Close stops the master (and every session through it) and removes the
// control socket's directory. Idempotent.
func (s *SSH) Close() error {
	if s.master != nil && s.master.Process != nil {
		exec.Command("ssh", append(s.base(), "-O", "exit", "--", s.Host)...).Run()
		syscall.Kill(-s.master.Process.Pid, syscall.SIGTERM)
		s.master = nil
	}
	if s.dir != "" {
		err := os.RemoveAll(s.dir)
		s.dir = ""
		return err
	}
	return nil
}

// Quote makes s one word for a POSIX shell.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
