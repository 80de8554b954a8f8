package rootfs

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestToolsImage makes an ext4 image of a small tree with the real
// mkfs.ext4 and reads a file back out of it with debugfs, which opens the
// image without mounting it.
func TestToolsImage(t *testing.T) {
	for _, tool := range []string{"mkfs.ext4", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: scripts/test.sh installs e2fsprogs", tool)
		}
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("fio 3.33\n", 1000)
	if err := os.WriteFile(filepath.Join(rootfs, "usr/bin/fio"), []byte(want), 0o755); err != nil {
		t.Fatal(err)
	}
	image, err := ToolsImage(context.Background(), rootfs, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if image != filepath.Join(filepath.Dir(rootfs), "tools.ext4") {
		t.Errorf("image at %s, want beside the rootfs", image)
	}
	out, err := exec.Command("debugfs", "-R", "cat /usr/bin/fio", image).Output()
	if err != nil {
		t.Fatalf("debugfs: %v", err)
	}
	if string(out) != want {
		t.Errorf("/usr/bin/fio in the image: %d bytes, want %d", len(out), len(want))
	}
	// The second call finds it in the cache and leaves it alone.
	st, _ := os.Stat(image)
	again, err := ToolsImage(context.Background(), rootfs, io.Discard)
	if err != nil || again != image {
		t.Fatalf("second call: %s, %v", again, err)
	}
	if st2, _ := os.Stat(image); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the cached image was made again")
	}
	if _, err := os.Stat(image + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temp image left behind: %v", err)
	}
}
