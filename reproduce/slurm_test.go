package reproduce_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/internal/slurmtest"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/trainloop"
)

// TestSlurm runs a reproduction of 2 tasks × 2 seeds as Slurm jobs on a
// real single-node cluster: every stage runs as a job, the scores equal
// those of the same reproduction run here, and a job cancelled while it
// runs is resubmitted, alone, by the next invocation.
func TestSlurm(t *testing.T) {
	cluster := slurmtest.Start(t)
	dir := t.TempDir()
	bin := buildSubtune(t, dir)
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

	checkArrays(t, onSlurm, subtune(onSlurm, append(slurm, "--detach")...))
	cancelled := cancelRunning(t, onSlurm, "/freeze")
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

// TestSlurmCancelSavesCheckpoint: a training job that Slurm ends, as
// scancel does and as a time limit does, gets SIGTERM, saves a checkpoint
// and exits; the run continues from that checkpoint with --resume, which
// is how a resubmitted stage starts.
func TestSlurmCancelSavesCheckpoint(t *testing.T) {
	cluster := slurmtest.Start(t)
	dir := t.TempDir()
	bin := buildSubtune(t, dir)
	out, log := filepath.Join(dir, "run"), filepath.Join(dir, "job.log")
	finetune := []string{bin, "finetune", "--model_name_or_path", testmodel.New(t, testmodel.Tiny(1), model.SequenceClassification, 1),
		"--task_name", "sst2", "--do_train", "--output_dir", out, "--per_device_train_batch_size", "2", "--max_seq_length", "16",
		"--threads", "1", "--logging_steps", "1", "--save_steps", "1000000", "--max_steps", "100000"}
	sbatch := exec.Command("sbatch", "--parsable", "--output", log, "--wrap", "exec "+strings.Join(finetune, " "))
	sbatch.Dir = dir
	id, err := sbatch.Output()
	if err != nil {
		t.Fatalf("sbatch: %v\n%s", err, cluster.Logs())
	}
	job := strings.TrimSpace(string(id))
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if text, _ := os.ReadFile(log); strings.Contains(string(text), "train step") {
			break
		}
		if time.Now().After(end) {
			text, _ := os.ReadFile(log)
			t.Fatalf("job %s did not start training within a minute:\n%s\n%s", job, text, cluster.Logs())
		}
	}
	if msg, err := exec.Command("scancel", job).CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v\n%s", job, err, msg)
	}
	waitQueueEmpty(t)
	text, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"subtune: terminated: stopping cleanly", "checkpoint saved in"} {
		if !strings.Contains(string(text), want) {
			t.Fatalf("the cancelled job's log lacks %q:\n%s", want, text)
		}
	}
	ckpt, ok := trainloop.LatestCheckpoint(out)
	if !ok {
		t.Fatalf("no checkpoint in %s after the job ended:\n%s", out, text)
	}
	if err := trainloop.VerifyCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	// The same command with --resume continues from it; stopped once it has.
	resumed := exec.Command(finetune[0], append(finetune[1:], "--resume")...)
	pipe, err := resumed.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	resumed.Stderr = resumed.Stdout
	if err := resumed.Start(); err != nil {
		t.Fatal(err)
	}
	defer resumed.Process.Kill()
	want := fmt.Sprintf("resuming from %s at step %s", ckpt, strings.TrimPrefix(filepath.Base(ckpt), trainloop.CheckpointPrefix))
	type outcome struct {
		ok    bool
		lines []string
	}
	done := make(chan outcome, 1)
	go func() {
		var lines []string
		for sc := bufio.NewScanner(pipe); sc.Scan(); {
			if lines = append(lines, sc.Text()); strings.Contains(sc.Text(), want) {
				done <- outcome{true, lines}
				return
			}
		}
		done <- outcome{false, lines}
	}()
	select {
	case o := <-done:
		if !o.ok {
			t.Fatalf("--resume ended without %q:\n%s", want, strings.Join(o.lines, "\n"))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("--resume did not print %q within a minute", want)
	}
}

// buildSubtune builds the command into dir.
func buildSubtune(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "subtune")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/subtune/subtune/cmd/subtune").CombinedOutput(); err != nil {
		t.Fatalf("building subtune: %v\n%s", err, out)
	}
	return bin
}

// cancelRunning scancels the array task of the first stage whose id ends
// in suffix once it runs, and returns the stage.
func cancelRunning(t *testing.T, out, suffix string) string {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		q, err := exec.Command("squeue", "-h", "-r", "-t", "RUNNING", "-o", "%i").Output()
		if err != nil {
			t.Fatal(err)
		}
		running := strings.Fields(string(q))
		for id, j := range slurmJobs(t, out) {
			if strings.HasSuffix(id, suffix) && slices.Contains(running, j.JobID) {
				if out, err := exec.Command("scancel", j.JobID).CombinedOutput(); err != nil {
					t.Fatalf("scancel %s: %v\n%s", j.JobID, err, out)
				}
				return id
			}
		}
	}
	t.Fatalf("no stage %s ran", suffix)
	return ""
}

// checkArrays checks that the stages were submitted as one array per wave
// of stages with the same dependencies: the full and freeze runs of every
// task and seed in one, each extraction in its own after its full run's
// task, and each seed's intrinsic and random runs in one after the whole
// array of their extraction.
func checkArrays(t *testing.T, out, log string) {
	t.Helper()
	jobs := slurmJobs(t, out)
	first := jobs["rte/seed1/full"]
	for _, p := range []string{"rte/seed1", "rte/seed2", "sst2/seed1", "sst2/seed2"} {
		full, freeze, extract := jobs[p+"/full"], jobs[p+"/freeze"], jobs[p+"/extract"]
		intrinsic, random := jobs[p+"/intrinsic"], jobs[p+"/random"]
		if full.Array != first.Array || freeze.Array != first.Array || first.Tasks != 8 {
			t.Errorf("%s: full run in %+v, freeze in %+v: want both in one array of 8", p, full, freeze)
		}
		if intrinsic.Array != random.Array || intrinsic.Tasks != 2 || extract.Tasks != 1 {
			t.Errorf("%s: intrinsic run in %+v, random in %+v, extraction in %+v: want the runs in one array of 2", p, intrinsic, random, extract)
		}
		for _, want := range []string{
			fmt.Sprintf("slurm: array job %s of 1 (%s/extract), after %s\n", extract.Array, p, full.JobID),
			fmt.Sprintf("slurm: array job %s of 2 (intrinsic+random[2]), after %s\n", intrinsic.Array, extract.Array),
		} {
			if !strings.Contains(log, want) {
				t.Errorf("the submission did not log %q:\n%s", want, log)
			}
		}
	}
}

type slurmJob struct {
	JobID string `json:"job_id"`
	Array string `json:"array"`
	Tasks int    `json:"array_tasks"`
}

// slurmJobs reads slurm_jobs.json: each stage's job.
func slurmJobs(t *testing.T, out string) map[string]slurmJob {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "slurm_jobs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]slurmJob
	if err := json.Unmarshal(data, &jobs); err != nil {
		t.Fatal(err)
	}
	return jobs
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
	jobs := slurmJobs(t, out)
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
