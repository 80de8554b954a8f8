package virt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/options"
)

// Bad input fails Start before any domain exists, naming the fix: a file
// that is not a disk image, an image that is missing, a libvirtd that does
// not answer.
func TestStartRefusesBadInput(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	dir := t.TempDir()
	notDisk := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDisk, []byte("not a disk\n"), 0o644)
	opts := options.DefaultVMOptions()
	opts.Manager = options.ManagerLibvirt
	for _, c := range []struct{ image, socket, want string }{
		{notDisk, Socket, "not a disk image (qemu-img reads it as raw, 512 bytes)"},
		{filepath.Join(dir, "missing.qcow2"), Socket, "no such file or directory (name a qcow2 or raw disk image"},
		{"", filepath.Join(dir, "no-libvirt-sock"), "libvirtd does not answer at " + filepath.Join(dir, "no-libvirt-sock")},
	} {
		image := c.image
		if image == "" { // a real image, so that the socket is what fails
			image = filepath.Join(dir, "disk.qcow2")
			if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", image, "64M").CombinedOutput(); err != nil {
				t.Fatalf("qemu-img create: %v: %s", err, out)
			}
		}
		old := Socket
		Socket = c.socket
		o := opts
		o.Image = image
		p := &Platform{PlatformName: "ours", RunID: "20261204-000000-abcd", RunDir: dir, VMOptions: o}
		inst, err := p.Start(context.Background())
		Socket = old
		if inst != nil {
			inst.Close(context.Background())
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("image %s, socket %s: error %v, want it to contain %q", c.image, c.socket, err, c.want)
		}
	}
}
