// Package testagent builds the static vmbench binary that tests hand to the
// platforms: the agent a container or a guest runs. Tests only.
package testagent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build compiles cmd/vmbench with CGO_ENABLED=0 into a temp dir and returns
// its path and a function that removes it.
func Build() (string, func(), error) {
	dir, err := os.MkdirTemp("", "vmbench-test-agent-")
	if err != nil {
		return "", nil, err
	}
	done := func() { os.RemoveAll(dir) }
	bin := filepath.Join(dir, "vmbench")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vmbench/vmbench/cmd/vmbench")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		done()
		return "", nil, fmt.Errorf("build agent: %w\n%s", err, out)
	}
	return bin, done, nil
}

// Main builds the agent into *bin, runs the tests and exits: a TestMain.
func Main(run func() int, bin *string) {
	path, done, err := Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = path
	code := run()
	done()
	os.Exit(code)
}

// BootChain describes what the host boots and what it has installed:
// /boot's entries and dpkg's package set. A test compares it before and
// after a run: vmbench must not install a kernel or any package on the
// host it measures.
func BootChain() (string, error) {
	entries, err := os.ReadDir("/boot")
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name() + "\n")
	}
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n").Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-query: %w", err)
	}
	return b.String() + string(out), nil
}
