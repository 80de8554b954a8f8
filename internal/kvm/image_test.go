package kvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/testagent"
)

func TestFindKernelPicksNewestVersion(t *testing.T) {
	k, err := FindKernel("testdata/root", "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Version != "6.10.0-2-cloud-amd64" || !strings.HasSuffix(k.ModulesDir, "lib/modules/6.10.0-2-cloud-amd64") {
		t.Errorf("picked %+v; 6.10 is newer than 6.9", k)
	}
	if _, err := FindKernel(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "set kernel: in the vm platform") {
		t.Errorf("no kernel: err = %v", err)
	}
	// A kernel given by path, unpacked from its package: its modules are
	// found beside its boot/ directory, not only in the host's /lib/modules.
	if k, err := FindKernel("/", "testdata/root/boot/vmlinuz-6.10.0-2-cloud-amd64"); err != nil || k.ModulesDir != "testdata/root/lib/modules/6.10.0-2-cloud-amd64" {
		t.Errorf("kernel by path: %+v, %v; want its modules beside it", k, err)
	}
	if _, err := FindKernel("/", "/nonexistent/vmlinuz"); err == nil {
		t.Error("a missing kernel path was accepted")
	}
}

func TestResolveModulesDependenciesFirst(t *testing.T) {
	got, err := ResolveModules("testdata/root/lib/modules/6.10.0-2-cloud-amd64", []string{"virtio_pci", "virtio_console", "virtio_net", "virtio_blk"})
	if err != nil {
		t.Fatal(err)
	}
	pos := func(m string) int {
		return slices.IndexFunc(got, func(p string) bool { return moduleName(p) == m })
	}
	for _, pair := range [][2]string{{"virtio_ring", "virtio"}, {"virtio", "virtio_pci"}, {"virtio_pci_modern_dev", "virtio_pci"}, {"failover", "net_failover"}, {"net_failover", "virtio_net"}, {"virtio", "virtio_console"}} {
		if pos(pair[0]) < 0 || pos(pair[1]) < 0 || pos(pair[0]) > pos(pair[1]) {
			t.Errorf("%s must load before %s: %v", pair[0], pair[1], got)
		}
	}
	if n := len(got); n != 9 {
		t.Errorf("got %d modules, want 9 (each once; virtio_blk is built in here): %v", n, got)
	}
	if moduleName("kernel/fs/ext4/ext4.ko.xz") != "ext4" {
		t.Error("compressed module names")
	}
}

func TestELFDepsOfADynamicBinary(t *testing.T) {
	deps, err := ELFDeps("/", "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(deps, " ")
	if !strings.Contains(joined, "libc.so") || !strings.Contains(joined, "ld-linux") {
		t.Errorf("deps of /bin/sh = %v, want libc and the loader", deps)
	}
}

// readCpio parses newc archives, enough to check what BuildImage writes.
func readCpio(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	r := bytes.NewReader(b)
	for {
		hdr := make([]byte, 110)
		if _, err := io.ReadFull(r, hdr); err != nil {
			t.Fatalf("header: %v", err)
		}
		if string(hdr[:6]) != "070701" {
			t.Fatalf("bad magic %q", hdr[:6])
		}
		field := func(i int) int {
			n, _ := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			return int(n)
		}
		size, namesize := field(6), field(11)
		name := make([]byte, namesize)
		io.ReadFull(r, name)
		skip := (4 - (110+namesize)%4) % 4
		r.Seek(int64(skip), io.SeekCurrent)
		data := make([]byte, size)
		io.ReadFull(r, data)
		r.Seek(int64((4-size%4)%4), io.SeekCurrent)
		n := strings.TrimRight(string(name), "\x00")
		if n == "TRAILER!!!" {
			return files
		}
		files[n] = data
	}
}

func TestBuildImageContentsAndCache(t *testing.T) {
	dir := t.TempDir()
	agentBin := filepath.Join(dir, "agent")
	os.WriteFile(agentBin, []byte("#!agent"), 0o755)
	mods := filepath.Join(dir, "modules")
	for _, m := range []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/char/virtio_console.ko"} {
		os.MkdirAll(filepath.Join(mods, filepath.Dir(m)), 0o755)
		os.WriteFile(filepath.Join(mods, m), []byte(m), 0o644)
	}
	os.WriteFile(filepath.Join(mods, "modules.dep"), []byte("kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_ring.ko:\nkernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"), 0o644)
	spec := ImageSpec{Agent: agentBin, Runc: "/bin/sh", Kernel: Kernel{Version: "9.9", ModulesDir: mods}, Modules: []string{"virtio_console"}}
	cache := filepath.Join(dir, "cache")
	path, cached, err := BuildImage(spec, cache)
	if err != nil || cached {
		t.Fatalf("first build: %v cached=%v", err, cached)
	}
	b, _ := os.ReadFile(path)
	files := readCpio(t, b)
	if string(files["init"]) != "#!agent" {
		t.Errorf("/init = %q", files["init"])
	}
	if _, ok := files["bin/runc"]; !ok {
		t.Error("no /bin/runc")
	}
	if _, ok := files["lib64/ld-linux-x86-64.so.2"]; !ok {
		t.Errorf("runc's loader missing; files: %v", keys(files))
	}
	want := "/lib/modules/9.9/kernel/drivers/virtio/virtio_ring.ko\n/lib/modules/9.9/kernel/drivers/virtio/virtio.ko\n/lib/modules/9.9/kernel/drivers/char/virtio_console.ko\n"
	if got := string(files["etc/vmbench/modules"]); got != want {
		t.Errorf("module list:\n%s\nwant:\n%s", got, want)
	}
	again, cached, err := BuildImage(spec, cache)
	if err != nil || !cached || again != path {
		t.Errorf("second build: %s cached=%v err=%v; want the cached %s", again, cached, err, path)
	}
	os.WriteFile(agentBin, []byte("#!agent v2"), 0o755)
	changed, cached, _ := BuildImage(spec, cache)
	if cached || changed == path {
		t.Error("a changed agent reused the old image")
	}
	for i := range KeepImages + 2 {
		os.WriteFile(agentBin, []byte(fmt.Sprintf("#!agent v%d", i+3)), 0o755)
		if _, _, err := BuildImage(spec, cache); err != nil {
			t.Fatal(err)
		}
	}
	if imgs, _ := filepath.Glob(filepath.Join(cache, "initramfs-*.cpio")); len(imgs) != KeepImages {
		t.Errorf("cache holds %d images, want %d", len(imgs), KeepImages)
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func TestCheckHugepagesNeedsAMount(t *testing.T) {
	err := checkHugepages(t.TempDir(), "/proc/meminfo", 1<<30)
	if err == nil || !strings.Contains(err.Error(), "mount -t hugetlbfs") {
		t.Errorf("err = %v", err)
	}
}

// The guest kernel comes from Debian's package, downloaded and extracted
// into the cache, never installed: the host's /boot and its package set
// stay as they were.
func TestGuestKernelIsExtractedNotInstalled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("apt-get download and dpkg-deb as root")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("not a Debian host: give kernel: a path")
	}
	before, err := testagent.BootChain()
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	var log strings.Builder
	k, err := GuestKernel(context.Background(), cache, "", &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Path, filepath.Join(cache, "kernel")+"/") || k.ModulesDir == "" || !strings.HasPrefix(k.ModulesDir, cache) {
		t.Errorf("kernel %+v, want it and its modules in the cache", k)
	}
	if _, err := ResolveModules(k.ModulesDir, GuestModules); err != nil {
		t.Errorf("the extracted modules: %v", err)
	}
	if !strings.Contains(log.String(), "not installed") {
		t.Errorf("log: %q", log.String())
	}
	again, err := GuestKernel(context.Background(), cache, "", io.Discard)
	if err != nil || again != k {
		t.Errorf("the second time: %+v, %v; want the cached %+v", again, err, k)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "kernel", ".extract-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if after, err := testagent.BootChain(); err != nil || after != before {
		t.Errorf("the host's /boot or its packages changed (%v)", err)
	}
}
