// Package figuretest checks, for tests, the figures a package writes.
package figuretest

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Check asserts paths are exactly base.png and base.svg for each
// base, and that each is a decodable, non-empty PNG or a non-empty SVG.
func Check(t testing.TB, paths []string, bases ...string) {
	t.Helper()
	var want []string
	for _, b := range bases {
		want = append(want, b+".png", b+".svg")
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(p) {
		case ".png":
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
				t.Errorf("%s: %v image", p, r)
			}
		case ".svg":
			if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("</svg>")) || len(b) < 1000 {
				t.Errorf("%s: not an SVG document (%d bytes)", p, len(b))
			}
		}
	}
}
