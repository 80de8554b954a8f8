package testagent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SSHKeys makes in dir a client key (key, key.pub), a host key (hostkey,
// hostkey.pub) and authorized_keys holding the client key, and makes
// sshd's privilege separation directory if the host has none.
//
// It never removes that directory: every sshd on the host needs it for
// each connection it accepts, and the test packages run at once (remote's
// and fleet's sshds overlapped in CI), so a test that removed it when it
// ended reset the other package's connections ("kex_exchange_identification:
// Connection reset by peer"). scripts/test.sh makes it before the tests
// and removes it after them when it made it.
func SSHKeys(t *testing.T, dir string) {
	t.Helper()
	for _, k := range []string{"key", "hostkey"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "key.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	if _, err := os.Stat("/run/sshd"); err != nil {
		os.MkdirAll("/run/sshd", 0o755)
	}
}

// SSHD starts an OpenSSH server on addr with SSHKeys' host key, letting
// in SSHKeys' client key, as a "host" on loopback, and stops it by its PID
// when the test ends. It returns the port and the server's PID.
func SSHD(t *testing.T, dir, addr string) (int, int) {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(dir, "sshd-"+addr+".conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`ListenAddress %s:%d
HostKey %s/hostkey
PidFile %s/sshd-%s.pid
AuthorizedKeysFile %s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
`, addr, port, dir, dir, addr, dir)), 0o600)
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", conf)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() { // what sshd said of the connections it refused
			t.Logf("sshd on %s:%d said:\n%s", addr, port, log.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", net.JoinHostPort(addr, fmt.Sprint(port))); err == nil {
			c.Close()
			return port, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd on %s:%d did not start: %s", addr, port, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
