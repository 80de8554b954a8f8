// Package safefs opens files as root in directories that something else
// can write: a container's scratch directory, a stored run directory that
// came from another host, a results root that a local user shares. A name
// is resolved beneath its directory without following any symbolic link,
// and only regular files are opened, so a link or a device planted there
// cannot steer a root write (or read) to a file elsewhere.
//
// It sits below every package that writes or reads such a place: the disk
// workloads, the guests' scratch disks, the runner's run directory, and the
// readers of stored runs.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is returned for a name that is a link, a directory, a
// device, a FIFO or a socket.
var ErrNotRegular = errors.New("not a regular file")

// resolve keeps a lookup beneath its directory: no "..", no absolute
// path, no symbolic link (not even one that stays inside), no /proc
// magic link.
const resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// OpenFile opens name (a path relative to dir) with flag and perm as
// os.OpenFile would, but only as a regular file reached beneath dir
// without a symbolic link on the way or at the end. With O_CREATE it
// creates the file when it is absent. The opened file's path is
// filepath.Join(dir, name).
func OpenFile(dir, name string, flag int, perm os.FileMode) (*os.File, error) {
	path := filepath.Join(dir, name)
	d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(d)
	for range 3 {
		// What is there now, looked at without opening it: opening a FIFO
		// blocks and opening a device can act on it.
		p, err := unix.Openat2(d, name, &unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolve})
		if errors.Is(err, unix.ENOENT) && flag&os.O_CREATE != 0 {
			fd, err := unix.Openat2(d, name, &unix.OpenHow{
				Flags: uint64(flag|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC) | unix.O_LARGEFILE,
				Mode:  uint64(perm.Perm()), Resolve: resolve,
			})
			if errors.Is(err, unix.EEXIST) && flag&os.O_EXCL == 0 {
				continue // made by someone else meanwhile: look at it again
			}
			if err != nil {
				return nil, pathError("create", path, err)
			}
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != nil {
			return nil, pathError("open", path, err)
		}
		f, err := reopen(p, path, flag)
		unix.Close(p)
		return f, err
	}
	return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("created and removed again while opening it")}
}

// reopen opens the regular file that the O_PATH descriptor p holds, with
// flag, through its /proc/self/fd link: the very inode looked at, whatever
// has been renamed onto its name since.
func reopen(p int, path string, flag int) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if kind := st.Mode & unix.S_IFMT; kind != unix.S_IFREG {
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s: refused)", ErrNotRegular, kinds[kind])}
	}
	if flag&os.O_EXCL != 0 && flag&os.O_CREATE != 0 {
		return nil, &os.PathError{Op: "create", Path: path, Err: os.ErrExist}
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(p), (flag&^(os.O_CREATE|os.O_EXCL))|unix.O_CLOEXEC|unix.O_LARGEFILE, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

var kinds = map[uint32]string{
	unix.S_IFLNK: "a symbolic link", unix.S_IFDIR: "a directory", unix.S_IFCHR: "a character device",
	unix.S_IFBLK: "a block device", unix.S_IFIFO: "a FIFO", unix.S_IFSOCK: "a socket",
}

// pathError names what a refused resolution means.
func pathError(op, path string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		err = fmt.Errorf("%w (a symbolic link: refused)", ErrNotRegular)
	case errors.Is(err, unix.EXDEV):
		err = errors.New("resolves outside its directory (refused)")
	}
	return &os.PathError{Op: op, Path: path, Err: err}
}

// Create makes name in dir, a file that must not exist yet, for writing.
func Create(dir, name string, perm os.FileMode) (*os.File, error) {
	return OpenFile(dir, name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

// WriteFile writes data to name in dir, replacing the content of a regular
// file that is there or creating it: os.WriteFile beneath dir.
func WriteFile(dir, name string, data []byte, perm os.FileMode) error {
	f, err := OpenFile(dir, name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

// ReadFile reads name beneath dir, at most max bytes: a larger file is an
// error that says so, not a read that exhausts memory.
func ReadFile(dir, name string, max int64) ([]byte, error) {
	f, err := OpenFile(dir, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes (refused)", f.Name(), max)
	}
	return b, nil
}
