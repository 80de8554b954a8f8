package kvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// KernelPackage is the Debian package whose kernel vmbench boots its guests
// with (a metapackage: the kernel is the package it depends on).
const KernelPackage = "linux-image-cloud-amd64"

// GuestKernel returns the kernel to boot a guest with: path when given;
// else the one extracted into cacheDir/kernel, extracted the first time
// from Debian's KernelPackage with apt-get download and dpkg-deb -x.
//
// The package is never installed: installed, it lands in the host's /boot
// and runs update-initramfs, and on a host that boots with GRUB its
// -cloud-amd64 flavour (6.1.0-N-cloud-amd64 sorts above 6.1.0-N-amd64) can
// become the default kernel at the next reboot, one without most hardware
// drivers. A benchmark must not change what a host boots.
func GuestKernel(ctx context.Context, cacheDir, path string, log io.Writer) (Kernel, error) {
	if path != "" {
		return FindKernel("/", path)
	}
	if cacheDir == "" {
		cacheDir = DefaultCacheDir
	}
	dir := filepath.Join(cacheDir, "kernel")
	if k, ok := cachedKernel(dir); ok {
		return k, nil
	}
	if err := extractKernel(ctx, dir, log); err != nil {
		return Kernel{}, fmt.Errorf("no guest kernel: vmbench extracts Debian's %s into %s, and that failed: %w; or set kernel: in the vm platform to a kernel of yours", KernelPackage, dir, err)
	}
	if k, ok := cachedKernel(dir); ok {
		return k, nil
	}
	return Kernel{}, fmt.Errorf("no guest kernel: %s was extracted into %s but holds no boot/vmlinuz-*", KernelPackage, dir)
}

// cachedKernel is the newest kernel extracted into dir (dir/<package>_<version>/boot/vmlinuz-*).
func cachedKernel(dir string) (Kernel, bool) {
	roots, _ := filepath.Glob(filepath.Join(dir, "*", "boot", "vmlinuz-*"))
	if len(roots) == 0 {
		return Kernel{}, false
	}
	sort.Slice(roots, func(i, j int) bool { return versionLess(filepath.Base(roots[i]), filepath.Base(roots[j])) })
	newest := roots[len(roots)-1]
	k, err := FindKernel(filepath.Dir(filepath.Dir(newest)), newest)
	return k, err == nil
}

// extractKernel downloads the kernel package KernelPackage depends on and
// unpacks it into dir/<package>_<version>, whole or not at all: a temp
// directory renamed into place, so that a concurrent extraction (another
// run, another test package) finds either nothing or all of it.
func extractKernel(ctx context.Context, dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".extract-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "extracting the guest kernel from Debian's %s (apt-get download, dpkg-deb -x; not installed), once; it is kept in %s\n", KernelPackage, dir)
	meta, err := download(ctx, tmp, KernelPackage)
	if err != nil {
		return err
	}
	deps, err := output(ctx, tmp, "dpkg-deb", "--field", meta, "Depends")
	if err != nil {
		return err
	}
	var image string
	for _, d := range strings.Split(deps, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
		if strings.HasPrefix(name, "linux-image-") {
			image = name
			break
		}
	}
	if image == "" {
		return fmt.Errorf("%s depends on no linux-image-* package (Depends: %s)", KernelPackage, deps)
	}
	deb, err := download(ctx, tmp, image)
	if err != nil {
		return err
	}
	unpacked := filepath.Join(tmp, "root")
	if _, err := output(ctx, tmp, "dpkg-deb", "-x", deb, unpacked); err != nil {
		return err
	}
	// modules.dep is made by the package's postinst, which does not run
	// here: depmod makes it for the unpacked tree.
	versions, _ := filepath.Glob(filepath.Join(unpacked, "lib", "modules", "*"))
	for _, v := range versions {
		if _, err := output(ctx, tmp, "depmod", "-b", unpacked, filepath.Base(v)); err != nil {
			return err
		}
	}
	dest := filepath.Join(dir, strings.TrimSuffix(filepath.Base(deb), ".deb"))
	if err := os.Rename(unpacked, dest); err != nil && !errors.Is(err, os.ErrExist) && !isDir(dest) {
		return err
	}
	return nil
}

// download fetches a package's .deb into dir with apt-get download, and
// returns its path.
func download(ctx context.Context, dir, pkg string) (string, error) {
	// apt's download sandbox user (_apt) cannot write a directory of
	// root's 0700: download as root.
	if _, err := output(ctx, dir, "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", pkg); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) == 0 {
		return "", fmt.Errorf("apt-get download %s left no %s_*.deb", pkg, pkg)
	}
	return debs[0], nil
}

// output runs a command in dir and returns its standard output; its
// error quotes what it printed on standard error.
func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
