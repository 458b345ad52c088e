package reproduce_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/internal/slurmtest"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/report"
)

// TestSlurm runs a reproduction of 2 tasks × 2 seeds as Slurm jobs on a
// real single-node cluster: every stage runs as a job, the scores equal
// those of the same reproduction run here, and a job cancelled while it
// runs is resubmitted, alone, by the next invocation.
func TestSlurm(t *testing.T) {
	cluster := slurmtest.Start(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "subtune")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/subtune/subtune/cmd/subtune").CombinedOutput(); err != nil {
		t.Fatalf("building subtune: %v\n%s", err, out)
	}
	args := []string{"reproduce", "--model_name_or_path", testmodel.New(t, testmodel.Tiny(2), model.MaskedLM, 1),
		"--tasks", "rte,sst2", "--seeds", "1,2", "--max_train_samples", "48", "--num_train_epochs", "2", "--threads", "1"}
	subtune := func(out string, more ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(append(args, "--output_dir", out), more...)...)
		cmd.Dir = dir
		log, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s\n%s", strings.Join(cmd.Args, " "), err, log, cluster.Logs())
		}
		return string(log)
	}
	local, onSlurm := filepath.Join(dir, "local"), filepath.Join(dir, "slurm")
	slurm := []string{"--scheduler", "slurm", "--slurm_poll", "500ms"}

	subtune(onSlurm, append(slurm, "--detach")...)
	cancelled := cancelRunning(t, "/freeze")
	waitQueueEmpty(t)
	log := subtune(onSlurm, slurm...)
	if n := strings.Count(log, "slurm: submitted "); n != 1 || !strings.Contains(log, "slurm: submitted "+cancelled+" as job") {
		t.Errorf("after cancelling %s the next invocation submitted %d stages:\n%s", cancelled, n, log)
	}
	checkJobs(t, onSlurm, 4*5)

	subtune(local)
	want, got := scores(t, local), scores(t, onSlurm)
	if len(want) != 4*4 || fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("scores on Slurm\n%v\ndiffer from those run here\n%v", got, want)
	}
}

// cancelRunning scancels the first job whose name ends in suffix once it
// runs, and returns its stage.
func cancelRunning(t *testing.T, suffix string) string {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		out, err := exec.Command("squeue", "-h", "-t", "RUNNING", "-o", "%i|%j").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Fields(string(out)) {
			id, name, _ := strings.Cut(line, "|")
			if strings.HasSuffix(name, suffix) {
				if out, err := exec.Command("scancel", id).CombinedOutput(); err != nil {
					t.Fatalf("scancel %s: %v\n%s", id, err, out)
				}
				return strings.TrimPrefix(name, "subtune:")
			}
		}
	}
	t.Fatalf("no job %s ran", suffix)
	return ""
}

func waitQueueEmpty(t *testing.T) {
	t.Helper()
	for end := time.Now().Add(120 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		out, err := exec.Command("squeue", "-h").Output()
		if err == nil && strings.TrimSpace(string(out)) == "" {
			return
		}
	}
	t.Fatal("the jobs did not end")
}

// checkJobs checks that every stage but the report ran as a Slurm job:
// recorded in slurm_jobs.json, its log in its directory.
func checkJobs(t *testing.T, out string, want int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "slurm_jobs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(data, &jobs); err != nil {
		t.Fatal(err)
	}
	if len(jobs) != want {
		t.Errorf("%d stages ran as Slurm jobs, want %d", len(jobs), want)
	}
	for id, j := range jobs {
		for _, f := range []string{"slurm-" + j.JobID + ".log", "stage.json"} {
			if _, err := os.Stat(filepath.Join(out, id, f)); err != nil {
				t.Errorf("stage %s: %v", id, err)
			}
		}
	}
}

// scores maps task/method/seed to the score in results.json.
func scores(t *testing.T, out string) map[string]float64 {
	t.Helper()
	res, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, r := range res.Runs {
		m[fmt.Sprintf("%s/%s/%d", r.Task, r.Method, r.Seed)] = r.Score
	}
	return m
}
