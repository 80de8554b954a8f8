package rootfs

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApplyLayer: a layer, however malicious (.. in names, absolute and
// climbing symlinks, hard links out, whiteouts of the root), never writes
// outside the rootfs it is applied to.
func FuzzApplyLayer(f *testing.F) {
	for _, entries := range [][]tarEntry{
		{{name: "../escape", body: "x", typ: tar.TypeReg}},
		{{name: "link", link: "/", typ: tar.TypeSymlink}, {name: "link/escape", body: "x", typ: tar.TypeReg}},
		{{name: "up", link: "../..", typ: tar.TypeSymlink}, {name: "up/escape", body: "x", typ: tar.TypeReg}},
		{{name: "hard", link: "../outside", typ: tar.TypeLink}},
		{{name: ".wh...", typ: tar.TypeReg}, {name: "a/.wh..wh..opq", typ: tar.TypeReg}},
		{{name: "usr/bin/fio", body: "#!/bin/sh\n", typ: tar.TypeReg, mode: 0o755}},
	} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, e := range entries {
			h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link}
			if e.typ == tar.TypeReg {
				h.Size = int64(len(e.body))
			}
			tw.WriteHeader(h)
			tw.Write([]byte(e.body))
		}
		tw.Close()
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, layer []byte) {
		parent := t.TempDir()
		rootDir := filepath.Join(parent, "rootfs")
		if err := os.Mkdir(rootDir, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(rootDir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		applyLayer(root, bytes.NewReader(layer))
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 || entries[0].Name() != "rootfs" {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("the layer wrote outside the rootfs: %v", names)
		}
	})
}
