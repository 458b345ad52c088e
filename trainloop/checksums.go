package trainloop

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/trajectory"
)

// ChecksumFile lists the SHA-256 of every file of a checkpoint in
// sha256sum's format, so `sha256sum -c checksums.sha256` inside the folder
// checks it too.
const ChecksumFile = "checksums.sha256"

// ErrDamaged is matched (via errors.Is) by the error of VerifyCheckpoint
// when a file no longer has the content it was written with.
var ErrDamaged = errors.New("checkpoint damaged")

// writeChecksums records the SHA-256 of every file in dir.
func writeChecksums(dir string) error {
	names, err := checkpointFiles(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, name := range names {
		sum, err := trajectory.HashFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	return atomicfile.WriteFile(filepath.Join(dir, ChecksumFile), func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// checkpointFiles lists the files of the checkpoint dir, slash-separated
// and relative to it, the checksum list excepted.
func checkpointFiles(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != ChecksumFile {
			names = append(names, rel)
		}
		return nil
	})
	return names, err
}

// VerifyCheckpoint checks every file of the checkpoint dir against the
// SHA-256 recorded when it was written. A file that differs, is missing or
// was not recorded gives an error naming it that matches ErrDamaged.
func VerifyCheckpoint(dir string) error {
	listPath := filepath.Join(dir, ChecksumFile)
	data, err := os.ReadFile(listPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s has no %s (an older subtune wrote it), so whether it is intact cannot be told; finish the run with the subtune that started it, or start again", dir, ChecksumFile)
	}
	if err != nil {
		return err
	}
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		sum, name, ok := strings.Cut(sc.Text(), " ")
		name = strings.TrimPrefix(name, " ")
		name = strings.TrimPrefix(name, "*") // sha256sum's binary mode
		if _, err := hex.DecodeString(sum); !ok || len(sum) != 64 || err != nil || name == "" {
			return fmt.Errorf("%w: %s line %d: want \"<sha256>  <file>\", got %s", ErrDamaged, listPath, line, strconv.Quote(sc.Text()))
		}
		if name != ChecksumFile {
			want[name] = strings.ToLower(sum)
		}
	}
	names, err := checkpointFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, ok := want[name]; !ok {
			return fmt.Errorf("%w: %s is not listed in %s", ErrDamaged, filepath.Join(dir, name), listPath)
		}
	}
	for name, sum := range want {
		path := filepath.Join(dir, filepath.FromSlash(name))
		got, err := trajectory.HashFile(path)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		if got != sum {
			return fmt.Errorf("%w: %s has SHA-256 %s, but %s was recorded in %s when it was written", ErrDamaged, path, got, sum, listPath)
		}
	}
	return nil
}

// verifyForResume is VerifyCheckpoint, and for a damaged checkpoint an
// offer of the newest older one of the same folder that is intact.
func verifyForResume(dir string) error {
	err := VerifyCheckpoint(dir)
	if !errors.Is(err, ErrDamaged) {
		return err
	}
	parent := filepath.Dir(dir)
	step := checkpointStep(dir)
	all := Checkpoints(parent)
	for i := len(all) - 1; i >= 0; i-- {
		if checkpointStep(all[i]) < step && VerifyCheckpoint(all[i]) == nil {
			return fmt.Errorf("%w; the previous intact checkpoint is %s: move %s out of %s and run the same command with --resume to continue from it",
				err, all[i], dir, parent)
		}
	}
	return fmt.Errorf("%w; no older intact checkpoint is left in %s, so the run must start again", err, parent)
}

// checkpointStep is the step of a checkpoint-<step> folder, -1 for another.
func checkpointStep(dir string) int {
	step, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), CheckpointPrefix))
	if err != nil {
		return -1
	}
	return step
}
