package trainloop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/safetensors"
)

// CheckpointPrefix names resumable checkpoints: <output_dir>/checkpoint-<step>,
// as HuggingFace's Trainer.
const CheckpointPrefix = "checkpoint-"

// The files of a checkpoint besides the model's: AdamW's moments, and the
// caller's state (whose presence marks a checkpoint complete).
const (
	OptimizerFile = "optimizer.safetensors"
	StateFile     = "trainer_state.json"
	// tmpPrefix starts the names of checkpoint folders being built or
	// removed; RemoveTemporaries deletes those a killed run left.
	tmpPrefix = ".tmp-" + CheckpointPrefix
)

// SaveCheckpoint writes a resumable checkpoint of a run at step: the model
// as an HF folder, AdamW's moments, the caller's state as JSON and the
// settings a resumed run must match (SettingsFile). The
// folder is built under a temporary name and renamed into place, so a
// killed run never leaves a checkpoint-N that looks complete. Older
// checkpoints beyond keep are removed. Each extra function writes more files
// into the folder before it is renamed into place (e.g. a ParamHook's Save);
// then the SHA-256 of every file is recorded in ChecksumFile.
func SaveCheckpoint(outputDir string, step int, m *model.Model, opt *optim.AdamW, state any, settings Settings, keep int, extra ...func(dir string) error) (string, error) {
	final := stepDir(outputDir, step)
	tmp, err := os.MkdirTemp(outputDir, tmpPrefix)
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := checkpoint.Save(tmp, m, safetensors.F32); err != nil {
		return "", err
	}
	if opt != nil {
		tensors := map[string]safetensors.Tensor{}
		for i, g := range opt.Groups {
			name := fmt.Sprintf("%03d.%s", i, g.Name)
			tensors[name+".exp_avg"] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{len(g.Data)}, F32: opt.M[i]}
			tensors[name+".exp_avg_sq"] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{len(g.Data)}, F32: opt.V[i]}
		}
		meta := map[string]string{"steps": strconv.Itoa(opt.Steps), "groups": strconv.Itoa(len(opt.Groups))}
		if err := safetensors.Write(filepath.Join(tmp, OptimizerFile), tensors, meta); err != nil {
			return "", err
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, StateFile), state); err != nil {
		return "", err
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, SettingsFile), settings); err != nil {
		return "", err
	}
	for _, f := range extra {
		if err := f(tmp); err != nil {
			return "", err
		}
	}
	if err := writeChecksums(tmp); err != nil {
		return "", err
	}
	// A checkpoint of the same step from an earlier, killed attempt.
	if err := RemoveCheckpoint(final); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	if keep > 0 {
		all := Checkpoints(outputDir)
		for len(all) > keep {
			if err := RemoveCheckpoint(all[0]); err != nil {
				return "", err
			}
			all = all[1:]
		}
	}
	return final, nil
}

// RemoveCheckpoint deletes a checkpoint folder, if there is one. It moves
// the folder to a temporary name first, so that a run killed meanwhile
// leaves a folder RemoveTemporaries deletes rather than a half-deleted
// checkpoint, which Checkpoints would no longer list and nothing would
// remove.
func RemoveCheckpoint(dir string) error {
	doomed := filepath.Join(filepath.Dir(dir), tmpPrefix+"old-"+filepath.Base(dir))
	if err := os.RemoveAll(doomed); err != nil {
		return err
	}
	if err := os.Rename(dir, doomed); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	return os.RemoveAll(doomed)
}

// RemoveTemporaries deletes what writes interrupted by a kill left in a
// run's output folder: checkpoint folders being built or removed, and the
// temporary files of atomic writes. A run calls it when it takes the folder
// over, before it writes anything: a live writer's temporaries look the
// same.
func RemoveTemporaries(outputDir string) error {
	tmp, err := filepath.Glob(filepath.Join(outputDir, tmpPrefix+"*"))
	if err != nil {
		return err
	}
	for _, t := range tmp {
		if err := os.RemoveAll(t); err != nil {
			return err
		}
	}
	return atomicfile.RemoveTemps(outputDir)
}

// Checkpoints lists the complete checkpoints of outputDir, oldest first.
func Checkpoints(outputDir string) []string {
	entries, _ := os.ReadDir(outputDir)
	type ck struct {
		step int
		path string
	}
	var cks []ck
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), CheckpointPrefix) {
			continue
		}
		step, err := strconv.Atoi(strings.TrimPrefix(e.Name(), CheckpointPrefix))
		if err != nil {
			continue
		}
		p := filepath.Join(outputDir, e.Name())
		if _, err := os.Stat(filepath.Join(p, StateFile)); err != nil {
			continue
		}
		cks = append(cks, ck{step, p})
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].step < cks[j].step })
	out := make([]string, len(cks))
	for i, c := range cks {
		out[i] = c.path
	}
	return out
}

// RemoveCheckpoints deletes the resumable checkpoints of dir, and what killed
// runs left of unfinished ones.
func RemoveCheckpoints(dir string) error {
	for _, c := range Checkpoints(dir) {
		if err := RemoveCheckpoint(c); err != nil {
			return err
		}
	}
	tmp, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*"))
	for _, t := range tmp {
		os.RemoveAll(t)
	}
	return nil
}

// LatestCheckpoint is the newest complete checkpoint of outputDir.
func LatestCheckpoint(outputDir string) (string, bool) {
	all := Checkpoints(outputDir)
	if len(all) == 0 {
		return "", false
	}
	return all[len(all)-1], true
}

// LoadCheckpoint restores a checkpoint written by SaveCheckpoint into an
// already built model and optimiser of the same shape, and decodes the
// caller's state. First every file is checked against the checksums
// recorded when it was written (VerifyCheckpoint), and the settings the
// checkpoint was saved with against those of the run (CheckResume).
func LoadCheckpoint(dir string, m *model.Model, opt *optim.AdamW, state any, settings Settings) error {
	if err := verifyForResume(dir); err != nil {
		return err
	}
	if err := checkSettings(dir, settings); err != nil {
		return err
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return err
	}
	for _, t := range m.Tensors {
		if err := f.ReadFloat32Into(t.Name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
			f.Close()
			return fmt.Errorf("resuming from %s: %w", dir, err)
		}
	}
	f.Close()
	m.ParamsChanged()
	if opt != nil {
		of, err := safetensors.Open(filepath.Join(dir, OptimizerFile))
		if err != nil {
			return err
		}
		defer of.Close()
		for i, g := range opt.Groups {
			name := fmt.Sprintf("%03d.%s", i, g.Name)
			if err := of.ReadFloat32Into(name+".exp_avg", opt.M[i]); err != nil {
				return fmt.Errorf("resuming from %s: %w", dir, err)
			}
			if err := of.ReadFloat32Into(name+".exp_avg_sq", opt.V[i]); err != nil {
				return fmt.Errorf("resuming from %s: %w", dir, err)
			}
		}
		steps, err := strconv.Atoi(of.Metadata()["steps"])
		if err != nil {
			return fmt.Errorf("%s: optimizer step count missing", filepath.Join(dir, OptimizerFile))
		}
		opt.Steps = steps
	}
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, state); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return nil
}

// Checkpointer saves the checkpoints of one run of a Loop into Dir, and
// restores one when the run resumes.
type Checkpointer struct {
	Dir      string
	Loop     *Loop
	Settings Settings // what a resumed run must match
	Keep     int      // checkpoints kept, the newest; 0: all
	State    any      // written as StateFile; a pointer, so that Load fills it
	// Extra functions write more files into each checkpoint (the
	// tokenizer, a hook's parameters).
	Extra []func(dir string) error

	saved int // 1 + the step of the newest checkpoint of this run; 0: none
}

// Save writes the checkpoint of the loop's current step, unless this run
// has written or resumed from it already, and returns its folder.
func (c *Checkpointer) Save() (string, error) {
	step := c.Loop.Step
	if c.saved == step+1 {
		return stepDir(c.Dir, step), nil
	}
	dir, err := SaveCheckpoint(c.Dir, step, c.Loop.Model, c.Loop.Opt, c.State, c.Settings, c.Keep, c.Extra...)
	if err != nil {
		return "", fmt.Errorf("saving the checkpoint of step %d: %w", step, err)
	}
	c.saved = step + 1
	return dir, nil
}

// Load restores the checkpoint dir into the loop's model and optimiser and
// decodes its state into c.State, after checking its checksums and
// settings. *step, a field of the state, holds the steps the checkpoint
// had taken; it becomes the loop's step.
func (c *Checkpointer) Load(dir string, step *int) error {
	if err := LoadCheckpoint(dir, c.Loop.Model, c.Loop.Opt, c.State, c.Settings); err != nil {
		return err
	}
	c.Loop.Step, c.saved = *step, *step+1
	return nil
}

// stepDir is the folder of the checkpoint of step in outputDir.
func stepDir(outputDir string, step int) string {
	return filepath.Join(outputDir, fmt.Sprintf("%s%d", CheckpointPrefix, step))
}
