package safefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// What someone who can write a directory plants there to turn root's next
// open of a name in it elsewhere: each must be refused, and the file it
// points at left as it was.
func TestRefusesWhatIsPlanted(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, plant := range map[string]func(dir string) error{
		"a link to a file outside": func(dir string) error { return os.Symlink(victim, filepath.Join(dir, "f")) },
		"a relative link outside":  func(dir string) error { return os.Symlink("../../../../../.."+victim, filepath.Join(dir, "f")) },
		"a link inside": func(dir string) error {
			os.WriteFile(filepath.Join(dir, "g"), nil, 0o600)
			return os.Symlink("g", filepath.Join(dir, "f"))
		},
		"a dangling link":         func(dir string) error { return os.Symlink(victim+".new", filepath.Join(dir, "f")) },
		"a FIFO":                  func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "f"), 0o600) },
		"a directory":             func(dir string) error { return os.Mkdir(filepath.Join(dir, "f"), 0o700) },
		"a device":                func(dir string) error { return syscall.Mknod(filepath.Join(dir, "f"), syscall.S_IFCHR|0o600, 1<<8|3) }, // /dev/null's numbers
		"a hard link to a device": func(dir string) error { return os.Link("/dev/null", filepath.Join(dir, "f")) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := plant(dir); err != nil {
				if strings.Contains(name, "hard link") {
					t.Skipf("cannot plant it here: %v", err) // /dev on another filesystem
				}
				t.Fatal(err)
			}
			for _, flag := range []int{os.O_RDWR | os.O_CREATE, os.O_WRONLY | os.O_CREATE | os.O_TRUNC, os.O_RDONLY} {
				f, err := OpenFile(dir, "f", flag, 0o600)
				if err == nil {
					f.Close()
					t.Errorf("flag %#x: opened", flag)
				}
			}
			if err := WriteFile(dir, "f", []byte("overwritten"), 0o600); err == nil {
				t.Error("WriteFile wrote")
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Errorf("the victim reads %q", b)
			}
			if _, err := os.Lstat(victim + ".new"); err == nil {
				t.Error("a dangling link's target was created")
			}
		})
	}
}

func TestEscapesRefused(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run")
	os.Mkdir(dir, 0o700)
	os.WriteFile(filepath.Join(root, "outside"), []byte("x"), 0o600)
	os.Symlink(root, filepath.Join(dir, "up"))
	for _, name := range []string{"../outside", "/etc/hostname", "up/outside", "a/../../outside"} {
		if _, err := ReadFile(dir, name, 100); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}

func TestOpensAndCreatesRegularFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(dir, "a", []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "a", []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(dir, "a", 3); err != nil || string(b) != "two" {
		t.Errorf("read %q, %v", b, err)
	}
	if _, err := ReadFile(dir, "a", 2); err == nil || !strings.Contains(err.Error(), "larger than 2 bytes") {
		t.Errorf("over the bound: %v", err)
	}
	if _, err := Create(dir, "a", 0o600); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing file: %v, want it to exist", err)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	f, err := Create(dir, "sub/b", 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Stat(filepath.Join(dir, "sub/b")); err != nil || st.Mode().Perm() != 0o640&^umask() {
		t.Errorf("created %v, %v", st, err)
	}
	if f.Name() != filepath.Join(dir, "sub/b") {
		t.Errorf("name %s", f.Name())
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
