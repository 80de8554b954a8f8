package rootfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// entry is one member of a test layer.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarball(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body))}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil && e.typ == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// blobs returns a function that adds data to members as a blob and
// returns its digest.
func blobs(members *[]tarEntry) func([]byte) string {
	return func(data []byte) string {
		sum := sha256.Sum256(data)
		d := "sha256:" + hex.EncodeToString(sum[:])
		*members = append(*members, tarEntry{name: blob(d), body: string(data), typ: tar.TypeReg})
		return d
	}
}

// ociArchive lays out an OCI image archive: index.json, an image manifest
// and the layers as blobs, as podman save --format oci-archive writes it.
func ociArchive(t *testing.T, layers ...[]byte) string {
	t.Helper()
	var members []tarEntry
	digest := blobs(&members)
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	var ls []desc
	for _, l := range layers {
		mt := "application/vnd.oci.image.layer.v1.tar"
		if l[0] == 0x1f {
			mt += "+gzip"
		}
		ls = append(ls, desc{mt, digest(l), len(l)})
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}`)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{"application/vnd.oci.image.config.v1+json", digest(config), len(config)}, "layers": ls,
	})
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []map[string]any{{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(manifest), "size": len(manifest),
			"platform": map[string]string{"os": "linux", "architecture": "amd64"},
		}},
	})
	members = append(members,
		tarEntry{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`, typ: tar.TypeReg},
		tarEntry{name: "index.json", body: string(index), typ: tar.TypeReg})
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(path, tarball(t, members), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportTools unpacks a two-layer image and checks what the layers
// say: files replaced, whiteouts and an opaque directory applied, links
// kept, paths confined to the rootfs, and the mount points added.
func TestImportTools(t *testing.T) {
	base := gzipped(t, tarball(t, []tarEntry{
		{name: "usr/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/fio", body: "fio 1", typ: tar.TypeReg, mode: 0o755},
		{name: "usr/bin/old", body: "gone", typ: tar.TypeReg},
		{name: "usr/bin/fio-copy", link: "usr/bin/fio", typ: tar.TypeLink},
		{name: "bin", link: "usr/bin", typ: tar.TypeSymlink},
		{name: "run/", typ: tar.TypeDir, mode: 0o755},
		{name: "var/run", link: "/run", typ: tar.TypeSymlink},
		{name: "etc/conf.d/a", body: "a", typ: tar.TypeReg},
		{name: "dev/null", typ: tar.TypeChar},
	}))
	top := tarball(t, []tarEntry{
		{name: "./usr/bin/fio", body: "fio 2", typ: tar.TypeReg, mode: 0o755},
		{name: "usr/bin/.wh.old", typ: tar.TypeReg},
		{name: "etc/conf.d/b", body: "b", typ: tar.TypeReg},
		{name: "etc/conf.d/.wh..wh..opq", typ: tar.TypeReg},
		{name: "var/run/tool.pid", body: "42", typ: tar.TypeReg},
		{name: "../../outside", body: "confined", typ: tar.TypeReg},
	})
	archive := ociArchive(t, base, top)
	cache := t.TempDir()
	rootfs, err := ImportTools(context.Background(), cache, archive, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, p))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	for p, want := range map[string]string{
		"usr/bin/fio":      "fio 2", // the upper layer wins
		"usr/bin/fio-copy": "fio 1", // a hard link to the file the lower layer had
		"bin/fio":          "fio 2", // through the relative link
		"etc/conf.d/b":     "b",     // the opaque directory keeps its own layer's files
		"run/tool.pid":     "42",    // written through the absolute link, inside the rootfs
		"outside":          "confined",
	} {
		if got := read(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	for _, gone := range []string{"usr/bin/old", "etc/conf.d/a", "dev/null"} {
		if _, err := os.Lstat(filepath.Join(rootfs, gone)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it absent", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cache), "outside")); !os.IsNotExist(err) {
		t.Error("a ../ path escaped the rootfs")
	}
	for _, d := range []string{"proc", "sys", "tmp", "scratch"} {
		if st, err := os.Stat(filepath.Join(rootfs, d)); err != nil || !st.IsDir() {
			t.Errorf("mount point /%s: %v", d, err)
		}
	}
	if st, err := os.Stat(filepath.Join(rootfs, AgentPath)); err != nil || !st.Mode().IsRegular() {
		t.Errorf("agent placeholder %s: %v", AgentPath, err)
	}
	if st, _ := os.Stat(filepath.Join(rootfs, "usr/bin/fio")); st.Mode().Perm() != 0o755 {
		t.Errorf("usr/bin/fio mode %v, want 0755", st.Mode())
	}
	if missing := MissingPrograms(rootfs, []string{"fio", "iperf3"}); strings.Join(missing, ",") != "iperf3" {
		t.Errorf("MissingPrograms = %v, want [iperf3]", missing)
	}
	// Again: the cache answers.
	again, err := ImportTools(context.Background(), cache, archive, io.Discard)
	if err != nil || again != rootfs {
		t.Errorf("second import: %s, %v; want the cached %s", again, err, rootfs)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(rootfs), "unpack-*")); len(left) > 0 {
		t.Errorf("unpack dirs left: %v", left)
	}
}

func TestImportToolsRejects(t *testing.T) {
	notTar := filepath.Join(t.TempDir(), "x.tar")
	os.WriteFile(notTar, []byte("not a tar file at all, but long enough to have a header block?"), 0o644)
	noIndex := filepath.Join(t.TempDir(), "y.tar")
	os.WriteFile(noIndex, tarball(t, []tarEntry{{name: "hello", body: "x", typ: tar.TypeReg}}), 0o644)
	brokenZstd := ociArchive(t, []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0})
	armOnly := ociPlatforms(t, map[string][]byte{"arm64": tarball(t, nil)})
	for archive, want := range map[string]string{
		notTar:     "not an image archive",
		noIndex:    "neither index.json (an OCI image archive) nor manifest.json",
		brokenZstd: "layer 0",
		armOnly:    "the index lists 2 images (linux/arm64, unknown/unknown) and none is linux/amd64",
	} {
		_, err := ImportTools(context.Background(), t.TempDir(), archive, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), archive) {
			t.Errorf("%s: %v, want an error naming it and saying %q", archive, err, want)
		}
	}
}

// A docker save archive (before Docker 25): manifest.json names the
// layers by path.
func TestImportDockerArchive(t *testing.T) {
	layer := tarball(t, []tarEntry{{name: "usr/bin/iperf3", body: "iperf 3.12", typ: tar.TypeReg, mode: 0o755}})
	archive := filepath.Join(t.TempDir(), "docker.tar")
	err := os.WriteFile(archive, tarball(t, []tarEntry{
		{name: "abc123/layer.tar", body: string(layer), typ: tar.TypeReg},
		{name: "manifest.json", body: `[{"Config":"cfg.json","RepoTags":["tools:1"],"Layers":["abc123/layer.tar"]}]`, typ: tar.TypeReg},
	}), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := ImportTools(context.Background(), t.TempDir(), archive, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if missing := MissingPrograms(rootfs, []string{"iperf3"}); len(missing) > 0 {
		t.Errorf("iperf3 missing from the imported rootfs")
	}
}

// ociPlatforms lays out a multi-platform OCI image archive: an index with
// one image per architecture (one layer each), and an attestation
// manifest as BuildKit adds (platform unknown/unknown).
func ociPlatforms(t *testing.T, layers map[string][]byte) string {
	t.Helper()
	var members []tarEntry
	digest := blobs(&members)
	var manifests []map[string]any
	for _, arch := range slices.Sorted(maps.Keys(layers)) {
		l := layers[arch]
		mt := "application/vnd.oci.image.layer.v1.tar+zstd"
		config := []byte(`{"architecture":"` + arch + `","os":"linux"}`)
		m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"digest": digest(config), "size": len(config)},
			"layers": []map[string]any{{"mediaType": mt, "digest": digest(l), "size": len(l)}}})
		manifests = append(manifests, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(m), "size": len(m),
			"platform": map[string]string{"os": "linux", "architecture": arch}})
	}
	att := []byte(`{"schemaVersion":2,"layers":[]}`)
	manifests = append(manifests, map[string]any{"digest": digest(att), "platform": map[string]string{"os": "unknown", "architecture": "unknown"}})
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": manifests})
	members = append(members, tarEntry{name: "index.json", body: string(index), typ: tar.TypeReg})
	path := filepath.Join(t.TempDir(), "multi.tar")
	if err := os.WriteFile(path, tarball(t, members), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func zstdCompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// A multi-platform image (as docker buildx and podman manifest push make
// them) with zstd layers: this host's architecture is the one unpacked.
func TestImportMultiPlatformZstd(t *testing.T) {
	layer := func(arch string) []byte {
		return zstdCompressed(t, tarball(t, []tarEntry{{name: "etc/arch", body: arch, typ: tar.TypeReg, mode: 0o644}}))
	}
	archive := ociPlatforms(t, map[string][]byte{"arm64": layer("arm64"), runtime.GOARCH: layer(runtime.GOARCH), "s390x": layer("s390x")})
	rootfs, err := ImportTools(context.Background(), t.TempDir(), archive, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/arch")); err != nil || string(b) != runtime.GOARCH {
		t.Errorf("etc/arch = %q, %v; want this host's %s", b, err, runtime.GOARCH)
	}
}
