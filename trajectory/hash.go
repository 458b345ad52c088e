package trajectory

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"os"

	"github.com/subtune/subtune/model"
)

// HashLayers identifies a model's encoder: the lowercase hex SHA-256 of
// every encoder layer's parameter vector (model.Model.Layer(l), in the
// engine's documented order) as little-endian IEEE-754 float32, layer 0
// first, with nothing between layers. Embeddings and heads are not part of
// it: the trajectory and the subspace concern the encoder only.
func HashLayers(m *model.Model) string {
	h := NewLayerHasher()
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		h.Add(m.Layer(l))
	}
	return h.Sum()
}

// LayerHasher computes HashLayers from the layers fed to it in order, so
// that a θ0 read layer by layer is hashed without a whole model in memory.
type LayerHasher struct {
	h   hash.Hash
	buf []byte
}

// NewLayerHasher returns a hasher that has seen no layer.
func NewLayerHasher() *LayerHasher {
	return &LayerHasher{h: sha256.New(), buf: make([]byte, 4<<16)}
}

// Add feeds the next layer's parameters as little-endian float32.
func (lh *LayerHasher) Add(layer []float32) {
	for x := layer; len(x) > 0; {
		n := min(len(x), len(lh.buf)/4)
		b := lh.buf[:4*n]
		for i, v := range x[:n] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		lh.h.Write(b)
		x = x[n:]
	}
}

// Sum returns the hash of the layers added so far, as HashLayers does.
func (lh *LayerHasher) Sum() string { return hex.EncodeToString(lh.h.Sum(nil)) }

// HashFile is the lowercase hex SHA-256 of the file at path, read in a
// stream: the checksum trajectory manifests and checkpoints record.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
