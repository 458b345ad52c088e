package trainloop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyCheckpointNoChecksums: a checkpoint without a checksum list
// (an older subtune's) cannot be verified, and is refused, naming it.
func TestVerifyCheckpointNoChecksums(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "checkpoint-3")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, StateFile), []byte("{}"), 0o644)
	err := VerifyCheckpoint(dir)
	if err == nil || !strings.Contains(err.Error(), dir+" has no "+ChecksumFile) {
		t.Fatalf("err = %v", err)
	}
}
