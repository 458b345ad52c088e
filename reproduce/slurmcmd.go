package reproduce

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/model"
)

// slurm runs Slurm's commands: sbatch to submit, squeue for the jobs it
// still holds, and sacct (or scontrol, where accounting is off) for those
// that have ended.
type slurm struct{ log io.Writer }

func (slurm) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// submit runs sbatch with script as the job's shell script, and returns
// the job id.
func (s slurm) submit(ctx context.Context, args []string, script string) (string, error) {
	args = append([]string{"--parsable"}, args...)
	args = append(args, "--wrap", script)
	out, err := s.run(ctx, "sbatch", args...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if id == "" {
		return "", fmt.Errorf("sbatch printed no job id")
	}
	return id, nil
}

// states maps each job id to statePending, stateRunning, or the state
// Slurm gives an ended job (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...); a
// job Slurm no longer knows is absent.
func (s slurm) states(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	q, err := s.run(ctx, "squeue", "-h", "-r", "-o", "%i|%T") // -r: one line per array task
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(q, "\n") {
		if id, st, ok := strings.Cut(strings.TrimSpace(line), "|"); ok {
			out[id] = liveState(st)
		}
	}
	var ended []string
	for _, id := range ids {
		if st, ok := out[id]; !ok || (st != statePending && st != stateRunning) {
			ended = append(ended, id)
		}
	}
	if len(ended) > 0 {
		s.endedStates(ctx, ended, out)
	}
	return out, nil
}

// liveState folds squeue's states: waiting ones are pending, those using
// the node running, the rest as Slurm names them.
func liveState(st string) string {
	switch st {
	case "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED":
		return statePending
	case "RUNNING", "CONFIGURING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING":
		return stateRunning
	}
	return st
}

// endedStates asks sacct for jobs squeue no longer lists, and scontrol
// where accounting is off (it remembers ended jobs for MinJobAge).
func (s slurm) endedStates(ctx context.Context, ids []string, out map[string]string) {
	acct, err := s.run(ctx, "sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", strings.Join(ids, ","))
	if err == nil {
		for _, line := range strings.Split(acct, "\n") {
			if id, st, ok := strings.Cut(strings.TrimSpace(line), "|"); ok {
				st, _, _ = strings.Cut(st, " ") // "CANCELLED by 0"
				out[id] = liveState(st)
			}
		}
		return
	}
	for _, id := range ids {
		info, err := s.run(ctx, "scontrol", "-o", "show", "job", id)
		if err != nil {
			continue // purged: vanished
		}
		for _, f := range strings.Fields(info) {
			if st, ok := strings.CutPrefix(f, "JobState="); ok {
				out[id] = liveState(st)
			}
		}
	}
}

// memoryOf is n's memory request in MB (see memoryMB).
func (r *reproduction) memoryOf(n *node) (int, error) {
	cfg, _, err := model.ReadConfig(filepath.Join(r.o.Model, "config.json"))
	if err != nil {
		return 0, err
	}
	return r.memoryMB(cfg, n), nil
}

// SplitArgs splits --slurm_args as a POSIX shell would split words: on
// blanks, with '…' and "…" quoting.
func SplitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				out, in = append(out, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote in %q", quote, s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
