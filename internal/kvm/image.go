package kvm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/agent"
)

// GuestModules are the kernel modules the guest needs, when the kernel does
// not build them in: the virtio transport (pci and mmio for microvm), the
// agent's serial port, block and network devices.
var GuestModules = []string{"virtio_pci", "virtio_mmio", "virtio_console", "virtio_blk", "virtio_net"}

// Kernel is a guest kernel and the modules built for it.
type Kernel struct {
	Path       string // bzImage / vmlinuz
	Version    string // "6.1.0-56-cloud-amd64"; "" when unknown
	ModulesDir string // /lib/modules/<version>; "" when the kernel has no modules here
}

// FindKernel returns the kernel to boot: path when given, else the newest
// /boot/vmlinuz-* under root. Its modules are root/lib/modules/<version>,
// the version taken from the file name, or, for a kernel given by path, the
// lib/modules/<version> beside its boot/ directory: an unpacked kernel
// package (dpkg-deb -x), as vmbench's own cache holds.
func FindKernel(root, path string) (Kernel, error) {
	if path == "" {
		cands, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
		if len(cands) == 0 {
			return Kernel{}, fmt.Errorf("no guest kernel: %s has no vmlinuz-*; set kernel: in the vm platform", filepath.Join(root, "boot"))
		}
		sort.Slice(cands, func(i, j int) bool { return versionLess(cands[i], cands[j]) })
		path = cands[len(cands)-1]
	}
	if _, err := os.Stat(path); err != nil {
		return Kernel{}, fmt.Errorf("guest kernel: %w", err)
	}
	k := Kernel{Path: path}
	if v, ok := strings.CutPrefix(filepath.Base(path), "vmlinuz-"); ok {
		k.Version = v
		for _, d := range []string{filepath.Join(root, "lib", "modules", v), filepath.Join(filepath.Dir(filepath.Dir(path)), "lib", "modules", v)} {
			if isDir(d) {
				k.ModulesDir = d
				break
			}
		}
	}
	return k, nil
}

// versionLess orders kernel file names by the numbers in them, so that
// vmlinuz-6.10 sorts after vmlinuz-6.9.
func versionLess(a, b string) bool {
	fa, fb := splitNumbers(a), splitNumbers(b)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		if fa[i] != fb[i] {
			na, ea := atoiOK(fa[i])
			nb, eb := atoiOK(fb[i])
			if ea && eb {
				return na < nb
			}
			return fa[i] < fb[i]
		}
	}
	return len(fa) < len(fb)
}

func splitNumbers(s string) []string {
	var out []string
	cur := ""
	digit := false
	for _, r := range s {
		d := r >= '0' && r <= '9'
		if cur != "" && d != digit {
			out = append(out, cur)
			cur = ""
		}
		cur += string(r)
		digit = d
	}
	return append(out, cur)
}

func atoiOK(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// ResolveModules returns the module files (relative to modulesDir) that load
// the named modules, dependencies first, each once, from modules.dep.
// Modules the kernel builds in are not in modules.dep and are skipped.
func ResolveModules(modulesDir string, names []string) ([]string, error) {
	f, err := os.Open(filepath.Join(modulesDir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w", err)
	}
	defer f.Close()
	deps := map[string][]string{}
	byName := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		byName[moduleName(mod)] = mod
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var order []string
	seen := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
		order = append(order, m)
	}
	for _, n := range names {
		if m, ok := byName[strings.ReplaceAll(n, "-", "_")]; ok {
			visit(m)
		}
	}
	return order, nil
}

// moduleName turns "kernel/drivers/char/virtio_console.ko.xz" into "virtio_console".
func moduleName(p string) string {
	base := path.Base(p)
	base, _, _ = strings.Cut(base, ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

// ELFDeps returns the shared libraries and the loader a dynamically linked
// binary needs, found in the usual library directories under root, with the
// paths they have there. A static binary needs none.
func ELFDeps(root, bin string) ([]string, error) {
	libDirs := []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	var out []string
	seen := map[string]bool{}
	var walk func(p string) error
	walk = func(p string) error {
		f, err := elf.Open(filepath.Join(root, p))
		if err != nil {
			return err
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				b := make([]byte, prog.Filesz)
				if _, err := prog.ReadAt(b, 0); err != nil {
					return err
				}
				interp := strings.TrimRight(string(b), "\x00")
				if !seen[interp] {
					seen[interp] = true
					out = append(out, interp)
				}
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return err
		}
		for _, lib := range libs {
			found := ""
			for _, d := range libDirs {
				if _, err := os.Stat(filepath.Join(root, d, lib)); err == nil {
					found = path.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, which is in none of %s", p, lib, strings.Join(libDirs, ", "))
			}
			if !seen[found] {
				seen[found] = true
				out = append(out, found)
				if err := walk(found); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(bin); err != nil {
		return nil, err
	}
	return out, nil
}

// ImageSpec is what goes into a guest initramfs.
type ImageSpec struct {
	Agent   string // the static vmbench binary, becomes /init
	Runc    string // host path of runc; "" for no container support
	Kernel  Kernel
	Modules []string // GuestModules, or fewer
}

// entry is one file of the image: where it comes from on the host and
// where it goes in the guest.
type entry struct {
	host, guest string
	perm        uint32
	link        string // symlink target, for links
}

// entries lists the files of the image in a fixed order.
func (s ImageSpec) entries() ([]entry, []string, error) {
	es := []entry{{host: s.Agent, guest: "/init", perm: 0o755}}
	if s.Runc != "" {
		es = append(es, entry{host: s.Runc, guest: "/bin/runc", perm: 0o755})
		libs, err := ELFDeps("/", s.Runc)
		if err != nil {
			return nil, nil, fmt.Errorf("runc libraries: %w", err)
		}
		for _, l := range libs {
			real, err := filepath.EvalSymlinks(l)
			if err != nil {
				return nil, nil, err
			}
			es = append(es, entry{host: real, guest: l, perm: 0o755})
		}
	}
	var mods []string
	if s.Kernel.ModulesDir != "" {
		rel, err := ResolveModules(s.Kernel.ModulesDir, s.Modules)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rel {
			g := path.Join("/lib/modules", s.Kernel.Version, r)
			es = append(es, entry{host: filepath.Join(s.Kernel.ModulesDir, r), guest: g, perm: 0o644})
			mods = append(mods, g)
		}
	}
	return es, mods, nil
}

// KeepImages is how many guest images the cache keeps: each vmbench build
// makes a new one, and the old ones are of no further use.
const KeepImages = 4

// PruneCache removes all but the keep most recently used files of dir
// whose names match pattern.
func PruneCache(dir, pattern string, keep int) {
	paths, _ := filepath.Glob(filepath.Join(dir, pattern))
	type aged struct {
		path string
		mod  time.Time
	}
	var imgs []aged
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			imgs = append(imgs, aged{p, st.ModTime()})
		}
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].mod.After(imgs[j].mod) })
	for i := keep; i < len(imgs); i++ {
		os.Remove(imgs[i].path)
	}
}

// BuildImage writes the initramfs for spec into cacheDir, named by the hash
// of everything in it, and returns its path. An image already there is
// reused, so a second run does not rebuild it.
func BuildImage(spec ImageSpec, cacheDir string) (image string, cached bool, err error) {
	es, mods, err := spec.entries()
	if err != nil {
		return "", false, err
	}
	var buf bytes.Buffer
	w := &cpioWriter{w: &buf}
	dirs := []string{"/bin", "/dev", "/etc", "/etc/vmbench", "/proc", "/run", "/sys", "/tmp", "/var", "/lib", "/lib64", "/root"}
	for _, e := range es {
		for d := path.Dir(e.guest); d != "/"; d = path.Dir(d) {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	for _, d := range slices.Compact(dirs) {
		w.Dir(d, 0o755)
	}
	for _, e := range es {
		data, err := os.ReadFile(e.host)
		if err != nil {
			return "", false, fmt.Errorf("guest image: %w", err)
		}
		w.File(e.guest, e.perm, data)
	}
	w.File(agent.ModulesList, 0o644, []byte(strings.Join(mods, "\n")+"\n"))
	if err := w.Close(); err != nil {
		return "", false, err
	}
	sum := sha256.Sum256(buf.Bytes())
	name := "initramfs-" + hex.EncodeToString(sum[:8]) + ".cpio"
	image = filepath.Join(cacheDir, name)
	if _, err := os.Stat(image); err == nil {
		now := time.Now()
		os.Chtimes(image, now, now) // most recently used: kept by PruneCache
		return image, true, nil
	}
	defer PruneCache(cacheDir, "initramfs-*.cpio", KeepImages)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, err
	}
	tmp, err := os.CreateTemp(cacheDir, ".initramfs-*")
	if err != nil {
		return "", false, err
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", false, err
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), image); err != nil {
		os.Remove(tmp.Name())
		return "", false, err
	}
	return image, false, nil
}
