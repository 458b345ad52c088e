// Package slurmtest starts a real single-node Slurm cluster on the loopback
// interface for tests: munged, slurmctld and slurmd from Debian's
// slurm-wlm and munge packages, run as root in the foreground with every
// file under a temporary folder, and stopped by pid when the test ends.
// Tests that need it skip, saying what to install, where the packages or
// root are missing.
package slurmtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Cluster is a running cluster. Slurm's commands find it through
// SLURM_CONF, which Start sets for the test (and so for the jobs, which
// inherit the submitter's environment).
type Cluster struct {
	Dir  string // its configuration, state and logs
	Conf string // slurm.conf
}

// daemons are the programs a cluster needs.
var daemons = []string{"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "scontrol"}

// Start starts a cluster whose one node has this machine's CPUs, and waits
// until sinfo shows it idle.
func Start(t *testing.T) *Cluster {
	t.Helper()
	for _, d := range daemons {
		if _, err := exec.LookPath(d); err != nil {
			t.Skipf("Slurm is not installed (%s not found): apt-get install slurm-wlm munge to run this test", d)
		}
	}
	if os.Getuid() != 0 {
		t.Skip("a test Slurm cluster runs its daemons as root; run the tests as root")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf")}
	for _, sub := range []string{"munge", "state", "spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "munge", "munge.sock")
	key := filepath.Join(dir, "munge", "munge.key")
	run(t, "mungekey", "--create", "--keyfile="+key)
	c.daemon(t, "munged", "--foreground", "--force", "--key-file="+key, "--socket="+sock,
		"--pid-file="+filepath.Join(dir, "munge", "munged.pid"), "--log-file="+filepath.Join(dir, "munge", "munged.log"),
		"--seed-file="+filepath.Join(dir, "munge", "seed"))
	waitFor(t, 10*time.Second, "munged's socket", func() bool { _, err := os.Stat(sock); return err == nil })
	if err := os.WriteFile(c.Conf, []byte(c.config(t, sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", c.Conf)
	c.daemon(t, "slurmctld", "-D", "-i")
	c.daemon(t, "slurmd", "-D", "-N", "localhost")
	waitFor(t, 30*time.Second, "the node to be idle", func() bool {
		out, err := exec.Command("sinfo", "-h", "-o", "%T").Output()
		return err == nil && strings.TrimSpace(string(out)) == "idle"
	})
	return c
}

// config is a slurm.conf for one node with this machine's CPUs, on free
// ports of the loopback interface.
func (c *Cluster) config(t *testing.T, sock string) string {
	d := c.Dir
	return fmt.Sprintf(`ClusterName=subtunetest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=%[1]s
CredType=cred/munge
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
StateSaveLocation=%[4]s/state
SlurmdSpoolDir=%[4]s/spool
SlurmctldPidFile=%[4]s/slurmctld.pid
SlurmdPidFile=%[4]s/slurmd.pid
SlurmctldLogFile=%[4]s/log/slurmctld.log
SlurmdLogFile=%[4]s/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=%[5]d RealMemory=%[6]d State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`, sock, freePort(t), freePort(t), d, runtime.NumCPU(), memoryMB())
}

// memoryMB is this machine's memory, as slurmd -C reports it.
func memoryMB() int {
	out, err := exec.Command("slurmd", "-C").Output()
	if err == nil {
		for _, f := range strings.Fields(string(out)) {
			var mb int
			if _, err := fmt.Sscanf(f, "RealMemory=%d", &mb); err == nil && mb > 0 {
				return mb
			}
		}
	}
	return 1024
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemon starts name in the foreground, its output in the log folder, and
// stops it by its pid when the test ends.
func (c *Cluster) daemon(t *testing.T, name string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(c.Dir, "log", name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
	})
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("waited %s for %s", d, what)
}

// Logs is the daemons' logs, for a failing test's message.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, f := range []string{"slurmctld.log", "slurmd.log"} {
		data, _ := os.ReadFile(filepath.Join(c.Dir, "log", f))
		fmt.Fprintf(&b, "--- %s\n%s", f, data)
	}
	return b.String()
}
