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
	h := sha256.New()
	var buf []byte
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		buf = hashFloat32s(h, m.Layer(l), buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashFloat32s feeds x to h as little-endian float32, through buf (grown to
// a fixed chunk once and returned for reuse).
func hashFloat32s(h hash.Hash, x []float32, buf []byte) []byte {
	const chunk = 1 << 16
	if len(buf) < 4*chunk {
		buf = make([]byte, 4*chunk)
	}
	for len(x) > 0 {
		n := min(chunk, len(x))
		b := buf[:4*n]
		for i, v := range x[:n] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		h.Write(b)
		x = x[n:]
	}
	return buf
}

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
