package trainer

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/tokenizer"
	"github.com/subtune/subtune/trainloop"
)

var benchThreads = flag.Int("threads", 2, "threads for BenchmarkTrainStep (GEMM and kernels)")

var writeLengths = flag.Bool("write_lengths", false, "rewrite ../bench/mrpc_lengths.txt for bench/pytorch_bench.py")

const lengthsFile = "../bench/mrpc_lengths.txt"

// mrpcTrain tokenises the shipped MRPC training set with the real
// bert-base-uncased vocabulary, at run_glue's max_seq_length 128.
func mrpcTrain(tb testing.TB) *Dataset {
	tb.Helper()
	task, _ := glue.Lookup("mrpc")
	ex, err := task.Load("", glue.Train)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	testmodel.WriteVocab(tb, dir)
	tok, err := tokenizer.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return Tokenize(tok, ex, 128)
}

// mrpcBatches returns epoch 0's batches of 32 of MRPC train in the order
// the trainer visits them with seed 42, and their padded lengths.
func mrpcBatches(d *Dataset) ([][]int, []int) {
	order := epochOrder(42, 0, d.Lengths(), 32, false)
	var batches [][]int
	var lens []int
	for lo := 0; lo < len(order); lo += 32 {
		idx := order[lo:min(lo+32, len(order))]
		T := 0
		for _, i := range idx {
			T = max(T, d.SeqLen(i))
		}
		batches, lens = append(batches, idx), append(lens, T)
	}
	return batches, lens
}

// TestMRPCLengths keeps bench/mrpc_lengths.txt, the padded length of every
// batch of the MRPC epoch the benchmarks run, in step with the trainer
// (rewrite it with -write_lengths), so that bench/pytorch_bench.py times
// PyTorch on the same shapes.
func TestMRPCLengths(t *testing.T) {
	_, lens := mrpcBatches(mrpcTrain(t))
	var b strings.Builder
	for _, l := range lens {
		fmt.Fprintln(&b, l)
	}
	if *writeLengths {
		if err := os.WriteFile(lengthsFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(lengthsFile)
	if err != nil {
		t.Skipf("%v (write it with go test -run MRPCLengths -write_lengths)", err)
	}
	if string(have) != b.String() {
		t.Fatalf("%s is out of date: rewrite it with go test ./trainer -run MRPCLengths -write_lengths", lengthsFile)
	}
}

// BenchmarkTrainStep times full training steps at batch 32: forward with
// dropout 0.1, cross-entropy, backward, clipping to 1.0 and AdamW, as
// bench/pytorch_bench.py --train does in PyTorch. Sizes: BERT-base
// (12×768, 109.5M parameters) and 4×256 (4 heads, FFN 1024), both with
// BERT's vocabulary. Padding: every batch 32×128, or MRPC train's batches
// in the trainer's order with dynamic padding (their lengths are
// bench/mrpc_lengths.txt). Run with -benchtime Nx to time N steps, as the
// PyTorch script's --base-steps/--small-steps.
//
// Each runs in float32 and under bf16 mixed precision (skipped where this
// build or CPU has none). peak_MiB is the process's peak resident memory
// (VmHWM) so far: the peak of one configuration only when it runs alone
// (-test.bench 'TrainStep/base/full128/bf16$').
func BenchmarkTrainStep(b *testing.B) {
	nn.SetThreads(*benchThreads)
	mrpc := mrpcTrain(b)
	batches, lens := mrpcBatches(mrpc)
	for _, size := range []struct {
		name                string
		layers, hidden, ffn int
		heads               int
	}{{"base", 12, 768, 3072, 12}, {"4x256", 4, 256, 1024, 4}} {
		for _, run := range benchRuns() {
			padding := run.padding
			b.Run(size.name+"/"+padding+"/"+run.precision, func(b *testing.B) {
				if run.precision == "bf16" && blas.BF16Check() != nil {
					b.Skip(blas.BF16Check())
				}
				c := model.DefaultConfig("bert")
				c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads = size.layers, size.hidden, size.ffn, size.heads
				c.SetLabels([]string{"0", "1"})
				m, err := model.New(c, model.SequenceClassification)
				if err != nil {
					b.Fatal(err)
				}
				m.Init(1)
				if err := m.SetBF16(run.precision == "bf16"); err != nil {
					b.Fatal(err)
				}
				ws := m.NewWorkspace(32, 128, 0)
				loop := trainloop.New(m, ws, trainloop.Config{LearningRate: 2e-5, MaxGradNorm: 1, TotalSteps: 1000})
				padTo := 0
				if padding != "mrpc" {
					padTo = 128
				}
				bt := newBatcher(32, 128, 0, padTo, false)
				step := func(i int) {
					batch := bt.fill(mrpc, batches[i%len(batches)])
					if padding == "full128" {
						for j := range batch.AttentionMask {
							batch.AttentionMask[j] = 1
						}
					}
					if _, err := loop.TrainStep([]*model.Batch{batch}, []uint64{uint64(i)}); err != nil {
						b.Fatal(err)
					}
				}
				step(0) // warm-up on the first batch's shape, as the PyTorch script
				tokens, i := 0, 0
				for b.Loop() {
					step(i)
					tokens += 32 * bt.b.T
					i++
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(32*i)/sec, "ex/s")
				b.ReportMetric(float64(tokens)/float64(i)/32, "mean_len")
				b.ReportMetric(peakRSSMiB(), "peak_MiB")
				kernels := blas.Describe()
				if m.BF16() {
					kernels += "; bf16: " + blas.BF16Describe()
				}
				b.Logf("%d parameters, %s, %s; first lengths %v",
					m.NumParams(), padding, kernels, lens[:min(5, len(lens))])
			})
		}
	}
}

// benchRuns are BenchmarkTrainStep's paddings, each in both precisions.
//
// fixed128: MRPC padded to 128 as run_glue's default pad_to_max_length;
// mrpc: dynamic padding; full128: every one of the 32×128 positions a real
// token, which no packing can shorten.
func benchRuns() []struct{ padding, precision string } {
	var runs []struct{ padding, precision string }
	for _, padding := range []string{"fixed128", "mrpc", "full128"} {
		for _, precision := range []string{"f32", "bf16"} {
			runs = append(runs, struct{ padding, precision string }{padding, precision})
		}
	}
	return runs
}

// peakRSSMiB is the process's peak resident set (VmHWM of
// /proc/self/status) in MiB, or 0 where there is none.
func peakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
