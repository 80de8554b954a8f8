package runner

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/kvm"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/rootfs"
)

// TestToolsFromAnImportedImage saves the tools rootfs vmbench builds as
// an OCI image archive, as a user would bring one, and runs fio from it
// in runc on the host and in runc in a guest.
func TestToolsFromAnImportedImage(t *testing.T) {
	needGuest(t)
	needRuntime(t, "runc")
	built, err := rootfs.ToolsRootfs(context.Background(), kvm.DefaultCacheDir, toolPackages(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	archive := saveOCI(t, built)
	dir, samples, err := run(t, context.Background(), load(t, fmt.Sprintf(`version: 1
name: imported
repetitions: 1
warmup: 0
timeout: 1m
sample_interval: 0s
tools_image: %s
platforms:
  - {name: box, type: container}
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 512MiB, scratch_size: 16MiB}
workloads:
  - {type: fio, params: {engine: libaio, iodepth: 4, size: 8MiB, duration: 200ms}}
`, archive)))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := result.ReadRun(dir)
	if rootfs := info.Platforms[0].Info["tools_rootfs"]; !strings.Contains(rootfs, "/tools-oci-") {
		t.Errorf("the container's tools rootfs %q is not the imported image", rootfs)
	}
	image := info.Platforms[1].Info["tools_disk"]
	if !strings.Contains(image, "/tools-oci-") {
		t.Errorf("the guest's tools disk %q is not made from the imported image", image)
	}
	if image != "" {
		t.Cleanup(func() { os.RemoveAll(filepath.Dir(image)) }) // the imported rootfs and its image
	}
	ok := 0
	for _, s := range samples {
		if s.Workload != "fio" {
			continue
		}
		if s.Error != "" || len(s.Metrics) == 0 || s.Metrics[0].Value <= 0 {
			t.Errorf("fio on %s: %s %+v", s.Platform, s.Error, s.Metrics)
			continue
		}
		ok++
	}
	if ok != 2 {
		t.Errorf("%d successful fio samples, want 2 (box, guest)", ok)
	}
	nothingLeft(t, "runc", info.RunID)
}

// saveOCI writes dir as a one-layer OCI image archive, uncompressed.
func saveOCI(t *testing.T, dir string) string {
	t.Helper()
	tmp := t.TempDir()
	layer, err := os.Create(filepath.Join(tmp, "layer.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer layer.Close()
	tw := tar.NewWriter(layer)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link, _ := os.Readlink(path)
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name, _ = filepath.Rel(dir, path)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string]string{} // digest → file
	add := func(path string) (string, int64) {
		f, _ := os.Open(path)
		defer f.Close()
		h := sha256.New()
		n, _ := io.Copy(h, f)
		d := "sha256:" + hex.EncodeToString(h.Sum(nil))
		blobs[d] = path
		return d, n
	}
	write := func(name string, v any) string {
		b, _ := json.Marshal(v)
		path := filepath.Join(tmp, name)
		os.WriteFile(path, b, 0o644)
		return path
	}
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	ld, ln := add(layer.Name())
	cd, cn := add(write("config.json", map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{ld}}}))
	md, mn := add(write("manifest.json", map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{"application/vnd.oci.image.config.v1+json", cd, cn}, "layers": []desc{{"application/vnd.oci.image.layer.v1.tar", ld, ln}}}))
	index := write("index.json", map[string]any{"schemaVersion": 2, "manifests": []desc{{"application/vnd.oci.image.manifest.v1+json", md, mn}}})
	out := filepath.Join(tmp, "tools.oci.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	aw := tar.NewWriter(f)
	members := map[string]string{"index.json": index}
	for d, path := range blobs {
		members["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")] = path
	}
	for name, path := range members {
		st, _ := os.Stat(path)
		aw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Typeflag: tar.TypeReg})
		src, _ := os.Open(path)
		io.Copy(aw, src)
		src.Close()
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// An imported image must hold what the scenario's tool workloads run.
func TestImportedImageWithoutTheTool(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "usr/bin/sysbench"), []byte("#!/bin/sh\n"), 0o755)
	archive := saveOCI(t, dir)
	s := load(t, fmt.Sprintf(`version: 1
name: imported
tools_image: %s
platforms:
  - {name: box, type: container}
workloads:
  - {type: sysbench}
  - {type: fio}
`, archive))
	_, _, err := makeTools(context.Background(), s, "20261206-000000-0000", t.TempDir(), io.Discard)
	want := "tools_image " + archive + " has no fio, which the scenario's tool workloads run"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("makeTools: %v, want %q", err, want)
	}
}
