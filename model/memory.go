package model

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Usage says what a model will be used for, which sets the memory it needs
// beyond its parameters and their gradient.
type Usage struct {
	// Batch and SeqLen bound the workspace (NewWorkspace's maxB and maxT);
	// zero when no workspace is allocated. SeqLen is capped at the
	// model's positions.
	Batch, SeqLen int
	// MaskedPositions is NewWorkspace's maxMLM for a masked-LM head.
	MaskedPositions int
	// Train adds AdamW's two moments per parameter.
	Train bool
	// BF16 is bf16 mixed precision (SetBF16): a rounded copy of the GEMM
	// weights, and a workspace that keeps rounded activations.
	BF16 bool
}

// part is one term of an estimate, named by the config keys that size it:
// a number of parameters or of bytes.
type part struct {
	what   string
	amount float64
}

// paramParts are the model's parameters grouped by the keys that size
// them, in numbers of parameters.
func (c Config) paramParts(head Head) []part {
	v, h, i, l := float64(c.VocabSize), float64(c.HiddenSize), float64(c.IntermediateSize), float64(c.NumHiddenLayers)
	vocab := v * h
	heads := 0.0
	switch head {
	case SequenceClassification:
		heads = h*h + h + float64(c.NumLabels())*(h+1)
	case MaskedLM, PreTraining:
		vocab += v
		heads = h*h + 3*h
		if head == PreTraining {
			heads += h*h + h + 2*h + 2
		}
	}
	return []part{
		{fmt.Sprintf("word embeddings: vocab_size %d × hidden_size %d", c.VocabSize, c.HiddenSize), vocab},
		{fmt.Sprintf("position embeddings: max_position_embeddings %d × hidden_size %d", c.MaxPositionEmbeddings, c.HiddenSize), float64(c.MaxPositionEmbeddings) * h},
		{fmt.Sprintf("token type embeddings: type_vocab_size %d × hidden_size %d", c.TypeVocabSize, c.HiddenSize), float64(c.TypeVocabSize)*h + 2*h},
		{fmt.Sprintf("encoder: num_hidden_layers %d × (4·hidden_size² + 2·hidden_size·intermediate_size), hidden_size %d, intermediate_size %d",
			c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize), l * (4*h*h + 2*h*i + 9*h + i)},
		{fmt.Sprintf("task head: hidden_size %d", c.HiddenSize), heads},
	}
}

// gemmWeightCount is the number of parameters a bf16 model keeps a rounded
// copy of (isGEMMWeight): every dense layer's weight, and the word
// embeddings a masked-LM decoder multiplies by.
func (c Config) gemmWeightCount(head Head) float64 {
	v, h, i, l := float64(c.VocabSize), float64(c.HiddenSize), float64(c.IntermediateSize), float64(c.NumHiddenLayers)
	n := l * (4*h*h + 2*h*i)
	switch head {
	case SequenceClassification:
		n += h*h + float64(c.NumLabels())*h
	case MaskedLM:
		n += h*h + v*h
	case PreTraining:
		n += 2*h*h + v*h + 2*h
	}
	return n
}

// paramCount is the number of parameters of c with head, in float64 so
// that absurd sizes cannot overflow.
func (c Config) paramCount(head Head) float64 {
	n := 0.0
	for _, p := range c.paramParts(head) {
		n += p.amount
	}
	return n
}

// Bytes New spends on each tensor's description (Tensor, its name and
// shape, the byName entry, with the growth of the slices and map holding
// them), New and NewWorkspace on each layer's views and buffer headers
// (New: 2 × 16 slice headers of 24 bytes), and both on the rest;
// measured by TestFootprintBoundsAllocation. They matter only for many tiny
// layers.
const (
	tensorOverhead = 600
	layerOverhead  = 1200 + 2*16*24
	fixedOverhead  = 64 << 10
)

// bookkeeping is the memory of the tensor descriptions and buffer headers.
func (c Config) bookkeeping() part {
	l := float64(c.NumHiddenLayers)
	return part{fmt.Sprintf("tensor descriptions: num_hidden_layers %d × 16 tensors", c.NumHiddenLayers),
		tensorOverhead*(16*l+14) + layerOverhead*l + fixedOverhead}
}

// largestParamPart returns the part of c's parameters that holds most.
func (c Config) largestParamPart(head Head) part {
	var best part
	for _, p := range c.paramParts(head) {
		if p.amount > best.amount {
			best = p
		}
	}
	return best
}

// Footprint estimates the bytes that New (parameters and gradient),
// NewWorkspace and, for training, AdamW allocate for c with head and use,
// and names the largest part.
func (c Config) Footprint(head Head, use Usage) (bytes float64, largest string) {
	perParam := 8.0 // Data and Grad
	if use.Train {
		perParam += 8 // AdamW's m and v
	}
	parts := []part{c.bookkeeping()}
	for _, p := range c.paramParts(head) {
		parts = append(parts, part{p.what, p.amount * perParam})
	}
	if use.BF16 {
		parts = append(parts, part{fmt.Sprintf("bfloat16 copy of the GEMM weights: num_hidden_layers %d, hidden_size %d, intermediate_size %d",
			c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize), 2 * c.gemmWeightCount(head)})
	}
	if use.Batch > 0 && use.SeqLen > 0 {
		parts = append(parts, c.workspaceParts(head, use.Batch, min(use.SeqLen, c.MaxPositionEmbeddings), use.MaskedPositions, use.BF16)...)
	}
	var best part
	for _, p := range parts {
		bytes += p.amount
		if p.amount > best.amount {
			best = p
		}
	}
	return bytes, fmt.Sprintf("%s (%s)", best.what, formatBytes(best.amount))
}

// CheckMemory refuses a config whose Footprint exceeds budget bytes, or,
// with budget 0, the memory available to the process (when it is known).
// The error names the estimate and the keys of its largest part.
func (c Config) CheckMemory(head Head, use Usage, budget float64) error {
	if err := c.Validate(); err != nil {
		return err
	}
	limit, where := budget, "the budget"
	if budget <= 0 {
		avail, ok := AvailableMemory()
		if !ok {
			return nil
		}
		limit, where = float64(avail), "the memory available"
	}
	need, largest := c.Footprint(head, use)
	if need > limit {
		return fmt.Errorf("the model needs about %s, more than %s (%s); the largest part is the %s",
			formatBytes(need), where, formatBytes(limit), largest)
	}
	return nil
}

// formatBytes renders n in decimal units (1 GB = 10⁹ bytes).
func formatBytes(n float64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	exp, div := 0, float64(unit)
	for n/div >= unit && exp < 5 {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", n/div, "kMGTPE"[exp])
}

// AvailableMemory is the memory the process may still allocate: Linux's
// MemAvailable, lowered to the room left under a cgroup v2 limit. ok is
// false where neither can be read.
func AvailableMemory() (avail uint64, ok bool) {
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if kb, found := strings.CutPrefix(sc.Text(), "MemAvailable:"); found {
				if n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 10, 64); err == nil {
					avail, ok = n*1024, true
				}
			}
		}
	}
	limit, err1 := readCgroupNumber("/sys/fs/cgroup/memory.max")
	used, err2 := readCgroupNumber("/sys/fs/cgroup/memory.current")
	if err1 == nil && err2 == nil && limit > used && (!ok || limit-used < avail) {
		avail, ok = limit-used, true
	}
	return avail, ok
}

// readCgroupNumber reads a cgroup file holding one number ("max" is not
// one).
func readCgroupNumber(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
}
