// Package rootfs makes the root filesystems that containers and guests run
// tools and apps from: a Debian root built with mmdebstrap from the host's
// APT sources, or a user's OCI or docker-save image unpacked safely (no
// layer writes outside the root), each cached by what it is made of and
// readied for a read-only container root (AgentPath, ScratchMount); and
// ext4 images of them for guests.
package rootfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vmbench/vmbench/internal/untrusted"
)

// The tools rootfs: a Debian root filesystem with the reference tools (fio,
// sysbench, …) that containers run tool workloads in, built once with
// mmdebstrap from the host's own Debian sources and kept in the cache.

// toolsDone marks a finished tools rootfs; toolsImageName is its ext4
// image for guests, beside it.
// The layout of a container's root that vmbench relies on: the agent
// binary's place and the scratch directory's mount point.
const (
	AgentPath    = "/vmbench"
	ScratchMount = "/scratch"
)

const (
	toolsDone      = ".vmbench-complete"
	toolsImageName = "tools.ext4"
)

// ToolsRootfs returns the path of the tools rootfs, a Debian rootfs holding
// pkgs, building it under cacheDir the first time (tens of seconds).
func ToolsRootfs(ctx context.Context, cacheDir string, pkgs []string, log io.Writer) (string, error) {
	return DebianRootfs(ctx, cacheDir, "tools", pkgs, log)
}

// DebianRootfs returns the path of a Debian rootfs of the host's release
// holding pkgs (the essential set and them), building it the first time
// with mmdebstrap from the host's own APT sources, in
// cacheDir/<name>-<hash of the release and pkgs>/rootfs.
func DebianRootfs(ctx context.Context, cacheDir, name string, pkgs []string, log io.Writer) (string, error) {
	pkgs = slices.Clone(pkgs)
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	suite := OSRelease("/etc/os-release", "VERSION_CODENAME")
	if suite == "" {
		return "", fmt.Errorf("%s rootfs: no VERSION_CODENAME in /etc/os-release; it is built from the host's Debian release", name)
	}
	sum := sha256.Sum256([]byte(suite + " " + strings.Join(pkgs, " ")))
	dir := filepath.Join(cacheDir, name+"-"+hex.EncodeToString(sum[:6]))
	rootfs := filepath.Join(dir, "rootfs")
	if _, err := os.Stat(filepath.Join(rootfs, toolsDone)); err == nil {
		return rootfs, nil
	}
	mmdebstrap, err := exec.LookPath("mmdebstrap")
	if err != nil {
		return "", fmt.Errorf("%s rootfs: mmdebstrap not found: apt-get install -y mmdebstrap", name)
	}
	sources, err := aptSources()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(log, "building the %s rootfs (%s: %s) with mmdebstrap, once; it is kept in %s\n", name, suite, strings.Join(pkgs, ", "), dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	var stderr bytes.Buffer
	// "-" reads the sources from stdin: the host's own mirrors.
	cmd := exec.CommandContext(ctx, mmdebstrap, "--variant=essential", "--include="+strings.Join(pkgs, ","), suite, tmp, "-")
	cmd.Stdin, cmd.Stderr = strings.NewReader(sources), &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s rootfs: mmdebstrap: %v: %s", name, err, untrusted.LastLines(strings.TrimSpace(stderr.String()), 5))
	}
	return finishRootfs(tmp, dir, strings.Join(pkgs, "\n")+"\n")
}

// finishRootfs readies a rootfs unpacked in tmp, under dir, for a
// read-only container root: the mount points of the spec, the scratch
// directory and a placeholder file for the agent binary's bind mount, all
// made through os.Root so that none follows a link out of the rootfs. Then
// it marks it complete and moves it to dir/rootfs, in place of an older one
// and of the image made from that.
func finishRootfs(tmp, dir, marker string) (string, error) {
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return "", err
	}
	defer root.Close()
	for _, d := range []string{"proc", "dev", "sys", "tmp", strings.TrimPrefix(ScratchMount, "/")} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("/%s: %w", d, err)
		}
	}
	agent := strings.TrimPrefix(AgentPath, "/")
	root.RemoveAll(agent)
	if err := root.WriteFile(agent, nil, 0o755); err != nil {
		return "", err
	}
	if err := root.WriteFile(toolsDone, []byte(marker), 0o644); err != nil {
		return "", err
	}
	rootfs := filepath.Join(dir, "rootfs")
	os.RemoveAll(rootfs)
	os.Remove(filepath.Join(dir, toolsImageName)) // made from the old rootfs
	if err := os.Rename(tmp, rootfs); err != nil {
		return "", err
	}
	return rootfs, nil
}

// aptSources returns the host's APT sources, in the files' own formats
// (one-line and deb822), which mmdebstrap reads from stdin.
func aptSources() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(append(files, lists...), "/etc/apt/sources.list")
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		b.Write(data)
		b.WriteString("\n")
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", fmt.Errorf("tools rootfs: the host has no APT sources (/etc/apt/sources.list, sources.list.d) to build it from")
	}
	return b.String(), nil
}

// OSRelease reads one field of an os-release file ("" when it has none).
func OSRelease(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// ToolsImage returns the path of a read-only ext4 image of the tools rootfs
// (guests attach it as a disk), making it beside rootfs the first time with
// mkfs.ext4 -d, which copies a directory tree into a new file system
// without mounting it.
func ToolsImage(ctx context.Context, rootfs string, log io.Writer) (string, error) {
	image := filepath.Join(filepath.Dir(rootfs), toolsImageName)
	if _, err := os.Stat(image); err == nil {
		return image, nil
	}
	fmt.Fprintf(log, "making the guests' tools image with mkfs.ext4, once; it is kept in %s\n", image)
	if err := MakeExt4(ctx, rootfs, image, "vmbench-tools", 64<<20); err != nil {
		return "", fmt.Errorf("tools image: %w", err)
	}
	return image, nil
}

// MakeExt4 makes image, an ext4 file system holding the tree under src
// (mkfs.ext4 -d) with free bytes to spare, no journal (its users mount it
// read-only, or write through a QEMU snapshot) and no reserved blocks. It
// writes image.tmp first and renames it.
func MakeExt4(ctx context.Context, src, image, label string, free int64) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return fmt.Errorf("mkfs.ext4 not found: apt-get install -y e2fsprogs")
	}
	used, files, err := treeSize(src)
	if err != nil {
		return err
	}
	// Room for metadata and the ext4 overhead: a quarter more, and an
	// inode per file with a margin.
	size := (used + used/4 + free) &^ (4<<10 - 1)
	tmp := image + ".tmp"
	os.Remove(tmp)
	defer os.Remove(tmp)
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	f.Close()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, mkfs, "-q", "-F", "-L", label, "-O", "^has_journal", "-m", "0",
		"-N", strconv.FormatInt(files+files/4+1024, 10), "-d", src, tmp)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mkfs.ext4: %v: %s", err, untrusted.LastLines(strings.TrimSpace(stderr.String()), 5))
	}
	return os.Rename(tmp, image)
}

// treeSize sums the space the files under dir take, in 4 KiB blocks, and
// counts them.
func treeSize(dir string) (used, files int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		files++
		info, err := d.Info()
		if err != nil {
			return err
		}
		used += (info.Size() + 4<<10 - 1) &^ (4<<10 - 1)
		return nil
	})
	return used, files, err
}
