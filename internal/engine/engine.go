// Package engine drives the command lines of the container engines, Docker
// and Podman: it finds an engine and checks that it answers, reads what
// run.json records of it, imports vmbench's image into it and saves a
// user's image out of it, and lists and removes what vmbench named there.
// Running a trial in an engine's container is platform's (enginerun.go).
package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// Engine drives a container engine's command line.
type Engine struct {
	Name string // docker or podman
	Path string
	// global are flags before the subcommand: podman's cgroup manager.
	global []string
}

// Info is what run.json records of an engine.
type Info struct {
	Version      string
	Storage      string   // the storage driver: overlay2, overlay, vfs
	CgroupDriver string   // cgroupfs or systemd
	Runtimes     []string // the runtimes a container may ask for (docker); nil: any installed (podman)
	Security     string   // the engine's security options: seccomp, AppArmor
	Capabilities string   // podman's default capabilities; "": Docker's (BundleCaps)
}

// New finds the engine and checks that it answers: docker's daemon
// runs, podman can read its storage.
func New(ctx context.Context, name string) (*Engine, error) {
	if !slices.Contains(options.Engines, name) {
		return nil, fmt.Errorf("unknown engine %q: docker or podman", name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		pkg := map[string]string{options.EngineDocker: "docker.io", options.EnginePodman: "podman"}[name]
		return nil, fmt.Errorf("%s not found in PATH: install it (apt-get install -y %s) or remove engine: from the platform", name, pkg)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("engine %s needs root here (vmbench owns its containers' cgroups): run vmbench as root (sudo)", name)
	}
	e := &Engine{Name: name, Path: path}
	if name == options.EnginePodman {
		// vmbench gives every container a cgroup parent of its own, whose
		// CPU time outlives the container; systemd's manager wants a slice
		// there instead.
		e.global = []string{"--cgroup-manager=cgroupfs"}
	}
	return e, nil
}

// Command builds the engine's command line.
func (e *Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, e.Path, append(slices.Clone(e.global), args...)...)
}

// Output runs the engine and returns its standard output, trimmed; a
// failure's error holds what the engine said.
func (e *Engine) Output(ctx context.Context, args ...string) (string, error) {
	cmd := e.Command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if e.Name == options.EngineDocker && strings.Contains(msg, "Cannot connect to the Docker daemon") {
			return "", fmt.Errorf("docker: the daemon does not answer (%s): start dockerd (systemctl start docker, or dockerd &)", msg)
		}
		return "", fmt.Errorf("%s %s: %w: %s", e.Name, args[0], err, untrusted.LastLines(msg, 3))
	}
	return strings.TrimSpace(string(out)), nil
}

// Info asks the engine what it is.
func (e *Engine) Info(ctx context.Context) (Info, error) {
	var format string
	switch e.Name {
	case options.EngineDocker:
		format = `{{.ServerVersion}}|{{.Driver}}|{{.CgroupDriver}}|{{range $k, $v := .Runtimes}}{{$k}} {{end}}|{{join .SecurityOptions " "}}|`
	case options.EnginePodman:
		format = `{{.Version.Version}}|{{.Store.GraphDriverName}}|{{.Host.CgroupManager}}||seccomp={{.Host.Security.SECCOMPProfilePath}} apparmor={{.Host.Security.AppArmorEnabled}}|{{.Host.Security.DefaultCapabilities}}`
	}
	out, err := e.Output(ctx, "info", "--format", format)
	if err != nil {
		return Info{}, err
	}
	f := strings.Split(out, "|")
	if len(f) != 6 {
		return Info{}, fmt.Errorf("%s info: unexpected output %q", e.Name, out)
	}
	info := Info{Version: f[0], Storage: f[1], CgroupDriver: f[2], Security: f[4], Capabilities: f[5]}
	if e.Name == options.EngineDocker {
		info.Runtimes = strings.Fields(f[3])
	}
	return info, nil
}

// Import makes image ref from the directory tree dir, labelled with the
// run's id: `tar -C dir -c . | engine import - ref`.
func (e *Engine) Import(ctx context.Context, dir, ref, runID string) error {
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", dir, "-cf", "-", ".")
	imp := e.Command(ctx, "import", "--change", "LABEL "+ImageLabel+"="+runID, "-", ref)
	pr, pw := io.Pipe()
	tarCmd.Stdout, imp.Stdin = pw, pr
	var tarErr, impErr strings.Builder
	tarCmd.Stderr, imp.Stderr = &tarErr, &impErr
	if err := imp.Start(); err != nil {
		return fmt.Errorf("%s import: %w", e.Name, err)
	}
	terr := tarCmd.Run()
	pw.CloseWithError(terr)
	ierr := imp.Wait()
	switch {
	case terr != nil:
		return fmt.Errorf("tar %s: %w: %s", dir, terr, untrusted.LastLines(tarErr.String(), 3))
	case ierr != nil:
		return fmt.Errorf("%s import %s: %w: %s", e.Name, ref, ierr, untrusted.LastLines(impErr.String(), 3))
	}
	return nil
}

// ImageLabel labels the images vmbench imports with their run's id.
const ImageLabel = "io.vmbench.run"

// Remove removes container name, running or not; a container that does not
// exist is no error. It is bounded in time so that teardown cannot hang.
func (e *Engine) Remove(name string) error {
	return e.forceRemove("rm", name, "No such container", "no such container")
}

// RemoveImage removes image ref; an image that does not exist is no error.
func (e *Engine) RemoveImage(ref string) error {
	return e.forceRemove("rmi", ref, "No such image", "image not known")
}

// forceRemove runs the engine's command cmd --force on name, within 30 s;
// an error that says one of gone (Docker's and Podman's words for "not
// there") is no error.
func (e *Engine) forceRemove(cmd, name string, gone ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := e.Output(ctx, cmd, "--force", name)
	if err != nil && slices.ContainsFunc(gone, func(g string) bool { return strings.Contains(err.Error(), g) }) {
		return nil
	}
	return err
}

// Containers lists the names of the engine's containers, running or not,
// that start with prefix.
func (e *Engine) Containers(ctx context.Context, prefix string) ([]string, error) {
	out, err := e.Output(ctx, "ps", "--all", "--format", "{{.Names}}")
	if err != nil {
		return nil, err
	}
	return withPrefix(strings.Fields(out), prefix), nil
}

// Images lists the repository:tag of the engine's images whose repository
// starts with prefix.
func (e *Engine) Images(ctx context.Context, prefix string) ([]string, error) {
	out, err := e.Output(ctx, "images", "--format", "{{.Repository}}:{{.Tag}}")
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, ref := range strings.Fields(out) {
		// podman names an image it imported localhost/<name>.
		if r := strings.TrimPrefix(ref, "localhost/"); strings.HasPrefix(r, prefix) {
			refs = append(refs, r)
		}
	}
	return refs, nil
}

func withPrefix(names []string, prefix string) []string {
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, prefix) })
}

// Save writes image ref to an archive in dir (docker save, podman save),
// for vmbench to unpack as it unpacks a user's archive.
func (e *Engine) Save(ctx context.Context, ref, dir string) (string, error) {
	path := filepath.Join(dir, "image.tar")
	if _, err := e.Output(ctx, "save", "--output", path, ref); err != nil {
		return "", fmt.Errorf("%s has no image %s to save (%w): pull or build it first", e.Name, ref, err)
	}
	return path, nil
}
