package rootfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// An imported tools rootfs: the root filesystem of a container image a
// user brings, saved as an OCI image archive (`podman save --format
// oci-archive`, `skopeo copy … oci-archive:`, `docker save` since Docker
// 25) or a Docker archive (`docker save` before it), unpacked layer by
// layer into the cache, in place of the one vmbench builds with mmdebstrap.

// ImportTools unpacks the image in archive into cacheDir, the first time,
// and returns its rootfs. The cache key is the image manifest's digest, so
// a changed image is unpacked anew.
func ImportTools(ctx context.Context, cacheDir, archive string, log io.Writer) (string, error) {
	a, err := openArchive(archive)
	if err != nil {
		return "", fmt.Errorf("tools_image %s: %w", archive, err)
	}
	defer a.f.Close()
	manifest, layers, err := a.image()
	if err != nil {
		return "", fmt.Errorf("tools_image %s: %w", archive, err)
	}
	sum := sha256.Sum256(manifest)
	dir := filepath.Join(cacheDir, "tools-oci-"+hex.EncodeToString(sum[:6]))
	rootfs := filepath.Join(dir, "rootfs")
	if _, err := os.Stat(filepath.Join(rootfs, toolsDone)); err == nil {
		return rootfs, nil
	}
	fmt.Fprintf(log, "unpacking the tools image %s (%d layers), once; it is kept in %s\n", archive, len(layers), dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return "", err
	}
	defer root.Close()
	for i, name := range layers {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		layer, err := a.open(name)
		if err != nil {
			return "", fmt.Errorf("tools_image %s: layer %d: %w", archive, i, err)
		}
		err = applyLayer(root, layer)
		if c, ok := layer.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			return "", fmt.Errorf("tools_image %s: layer %d (%s): %w", archive, i, name, err)
		}
	}
	rootfs, err = finishRootfs(tmp, dir, "imported from "+archive+"\n")
	if err != nil {
		return "", fmt.Errorf("tools_image %s: %w", archive, err)
	}
	return rootfs, nil
}

// MissingPrograms lists the programs not found in the usual directories
// of a rootfs's PATH.
func MissingPrograms(rootfs string, programs []string) []string {
	var missing []string
	for _, p := range programs {
		found := false
		for _, dir := range []string{"usr/local/bin", "usr/bin", "bin", "usr/local/sbin", "usr/sbin", "sbin"} {
			if _, err := os.Lstat(filepath.Join(rootfs, dir, p)); err == nil {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	return missing
}

// archive is an image archive: an uncompressed tar whose members are read
// in place, by offset.
type archive struct {
	f       *os.File
	members map[string]member
}

type member struct{ off, size int64 }

// counter counts the bytes read through it: the tar reader reads headers
// block by block, so after Next the count is where the member's data
// starts.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func openArchive(name string) (*archive, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	a := &archive{f: f, members: map[string]member{}}
	c := &counter{r: f}
	tr := tar.NewReader(c)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("not an image archive (a tar file): %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			a.members[path.Clean(strings.TrimPrefix(h.Name, "./"))] = member{c.n, h.Size}
		}
	}
	return a, nil
}

func (a *archive) read(name string) ([]byte, error) {
	m, ok := a.members[name]
	if !ok {
		return nil, fmt.Errorf("no %s in the archive", name)
	}
	if m.size > 16<<20 {
		return nil, fmt.Errorf("%s is %d bytes, too large for image metadata", name, m.size)
	}
	return io.ReadAll(io.NewSectionReader(a.f, m.off, m.size))
}

// open returns a layer's tar stream, decompressed.
func (a *archive) open(name string) (io.Reader, error) {
	m, ok := a.members[name]
	if !ok {
		return nil, fmt.Errorf("no %s in the archive", name)
	}
	r := bufio.NewReader(io.NewSectionReader(a.f, m.off, m.size))
	magic, _ := r.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(r)
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// A zstd layer (podman push --compression-format zstd, BuildKit's
		// compression=zstd). The window is bounded, as a layer from
		// someone else's image is untrusted input.
		d, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return zstdLayer{d}, nil
	}
	return r, nil
}

// zstdLayer is a zstd layer's tar stream; Close releases the decoder.
type zstdLayer struct{ *zstd.Decoder }

func (z zstdLayer) Close() error { z.Decoder.Close(); return nil }

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

// image finds the image manifest and returns it with its layers' member
// names, bottom first.
func (a *archive) image() ([]byte, []string, error) {
	if _, ok := a.members["index.json"]; ok {
		return a.ociImage()
	}
	if _, ok := a.members["manifest.json"]; ok {
		return a.dockerImage()
	}
	return nil, nil, errors.New("neither index.json (an OCI image archive) nor manifest.json (a docker save archive) in it")
}

func blob(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return "blobs/" + alg + "/" + hex
}

func (a *archive) ociImage() ([]byte, []string, error) {
	data, err := a.read("index.json")
	for depth := 0; err == nil && depth < 4; depth++ {
		var doc struct {
			MediaType string       `json:"mediaType"`
			Manifests []descriptor `json:"manifests"`
			Layers    []descriptor `json:"layers"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, nil, fmt.Errorf("image metadata: %w", err)
		}
		if doc.Layers != nil { // an image manifest
			var layers []string
			for _, l := range doc.Layers {
				layers = append(layers, blob(l.Digest))
			}
			return data, layers, nil
		}
		// An index: this host's image (linux/GOARCH), or the only one.
		var pick *descriptor
		var listed []string
		for i, m := range doc.Manifests {
			if m.Platform != nil {
				listed = append(listed, m.Platform.OS+"/"+m.Platform.Architecture)
			}
			if len(doc.Manifests) == 1 || m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
				pick = &doc.Manifests[i]
				break
			}
		}
		if pick == nil {
			return nil, nil, fmt.Errorf("the index lists %d images (%s) and none is linux/%s, this host's", len(doc.Manifests), strings.Join(listed, ", "), runtime.GOARCH)
		}
		data, err = a.read(blob(pick.Digest))
	}
	if err != nil {
		return nil, nil, err
	}
	return nil, nil, errors.New("indexes nested too deep")
}

func (a *archive) dockerImage() ([]byte, []string, error) {
	data, err := a.read("manifest.json")
	if err != nil {
		return nil, nil, err
	}
	var images []struct {
		Layers []string `json:"Layers"`
	}
	if err := json.Unmarshal(data, &images); err != nil {
		return nil, nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(images) != 1 {
		return nil, nil, fmt.Errorf("manifest.json lists %d images; save exactly one", len(images))
	}
	return data, images[0].Layers, nil
}

// Whiteouts, as the OCI image spec defines them: .wh.<name> deletes name
// from the layers below; .wh..wh..opq in a directory empties it of what the
// layers below put there.
const (
	whiteout = ".wh."
	opaque   = ".wh..wh..opq"
)

// applyLayer unpacks a layer's tar stream on top of root. root confines
// every path, symbolic links included, to the rootfs. Device nodes are
// skipped: a container's /dev is a tmpfs of the runtime's.
func applyLayer(root *os.Root, r io.Reader) error {
	tr := tar.NewReader(r)
	added := map[string]bool{} // by this layer, which an opaque whiteout keeps
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue // the root itself
		}
		// The directory as the image sees it, through its symbolic links
		// (/var/run → /run), as if the rootfs were /.
		dir, err := inScope(root, path.Dir(name))
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		base := path.Base(name)
		name = path.Join(dir, base)
		switch {
		case base == opaque:
			if err := emptyDir(root, dir, added); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			continue
		case strings.HasPrefix(base, whiteout):
			if err := root.RemoveAll(path.Join(dir, strings.TrimPrefix(base, whiteout))); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			continue
		}
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		if st, err := root.Lstat(name); err == nil && !(st.IsDir() && h.Typeflag == tar.TypeDir) {
			if err := root.RemoveAll(name); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		}
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeReg:
			f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeLink:
			target := strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
			tdir, err := inScope(root, path.Dir(target))
			if err != nil {
				return fmt.Errorf("%s: hard link to %s: %w", h.Name, h.Linkname, err)
			}
			if err := root.Link(path.Join(tdir, path.Base(target)), name); err != nil {
				return fmt.Errorf("%s: hard link to %s: %w", h.Name, h.Linkname, err)
			}
		default: // devices, fifos
			continue
		}
		for p := name; p != "." && !added[p]; p = path.Dir(p) {
			added[p] = true // and its directories, which may have no entry
		}
		if err := root.Lchown(name, h.Uid, h.Gid); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeDir || h.Typeflag == tar.TypeReg {
			if err := root.Chmod(name, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		}
	}
}

// inScope resolves the symbolic links in p as the kernel would with root
// as /: an absolute target starts again from root, and .. stops at it. It
// returns a path relative to root ("." for root) whose directories are not
// links, which root's methods can then use; os.Root itself refuses
// absolute links.
func inScope(root *os.Root, p string) (string, error) {
	done := ""
	rest := strings.Split(p, "/")
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if done = path.Dir(done); done == "." {
				done = ""
			}
			continue
		}
		next := path.Join(done, c)
		st, err := root.Lstat(next)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			done = next // a directory, or not there yet
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := root.Readlink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = ""
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if done == "" {
		return ".", nil
	}
	return done, nil
}

// emptyDir removes what dir holds from the layers below, keeping what this
// layer added.
func emptyDir(root *os.Root, dir string, added map[string]bool) error {
	d, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if p := path.Join(dir, n); !added[p] {
			if err := root.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}
