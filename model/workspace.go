package model

import (
	"fmt"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/nn"
)

// Batch is one padded batch of B sequences of length T, row-major.
type Batch struct {
	InputIDs      []int32 // B×T
	TokenTypeIDs  []int32 // B×T, or nil for all zeros
	AttentionMask []int32 // B×T, 1 for real tokens, 0 for padding; nil for all ones
	B, T          int

	Labels    []int32   // B class indices, for classification
	Targets   []float32 // B scores, for regression
	MLMLabels []int32   // B×T token ids to predict, IgnoreIndex elsewhere
	// NextSentenceLabels are B labels for the PreTraining head: 0 when the
	// second segment follows the first in the corpus, 1 when it is a random
	// one (BertForPreTraining's next_sentence_label).
	NextSentenceLabels []int32
}

// IgnoreIndex marks positions the masked-LM loss skips, as PyTorch's -100.
const IgnoreIndex = -100

// layerActs are the activations of one encoder layer that its backward pass
// reads. Buffers are sized for the workspace's capacity; a smaller batch uses
// a prefix of each.
type layerActs struct {
	in               []float32 // N×H: the layer input (previous layer's out)
	q, k, v          []float32 // N×H
	probs, probsDrop []float32 // B×nh×T×T
	probsMask        []uint8
	ctx              []float32 // N×H
	attnMask         []uint8
	res1             []float32 // N×H: attention output + in, LayerNorm 1 input
	ln1Mean, ln1Rstd []float32 // N
	ln1Out           []float32 // N×H
	ffnPre           []float32 // N×I: intermediate dense output
	ffnAux           []float32 // N×I: the activation's saved state (Φ(x) for GELU)
	ffnMask          []uint8
	res2             []float32 // N×H
	ln2Mean, ln2Rstd []float32 // N
	out              []float32 // N×H: the layer output

	// Under bf16 mixed precision the backward reads the layer's input, q, k,
	// v, ctx and ln1Out, and the dropped-out probabilities, only as GEMM
	// operands, which round them: the layer keeps them rounded, in half the
	// bytes, and their float32 buffers (and out's) are one set shared by
	// every layer, alive during one layer's forward. Nil in float32, and
	// probsDropR without attention dropout.
	inR, qR, kR, vR, ctxR, ln1OutR *blas.BF16Matrix
	probsDropR                     []uint16 // B×nh×T×T
}

// Workspace holds every activation and scratch buffer of a forward and
// backward pass, sized for up to maxB sequences of up to maxT tokens. Reusing
// one Workspace across steps means training allocates nothing per step.
type Workspace struct {
	// KeepPadding makes the encoder compute padding positions too, as
	// HuggingFace's models do. By default a right-padded batch is packed:
	// the dense layers run on the real tokens only and attention on each
	// sequence's own length, which gives the same logits and gradients
	// with less work. Set it to read hidden states at padding positions.
	KeepPadding bool

	maxB, maxT int
	b, t       int // shape of the last forward pass

	// Token rows of the last forward pass. Sequence s occupies rows
	// seqStart[s] … seqStart[s]+seqLen[s]−1 of every N×H activation;
	// rowSrc[i] is row i's flat B×T position in the batch. Padded layout:
	// seqStart[s] = s·T and seqLen[s] = T; packed: real tokens only.
	nTok     int
	packed   bool
	seqStart []int
	seqLen   []int
	attStart []int   // B+1 offsets of each sequence's nh×L×L attention block
	rowSrc   []int32 // N
	rowPos   []int32 // N: position id of each row

	// Embeddings.
	embSum           []float32 // N×H: word+position+type, LayerNorm input
	embMean, embRstd []float32
	embLN            []float32 // N×H
	embMask          []uint8
	embOut           []float32 // N×H: after dropout, layer 0 input
	positionIDs      []int32   // B×T
	keep             []bool    // N attention keep flags, one per row

	layers []layerActs
	bf16   bool // layers laid out for bf16 mixed precision (layoutLayers)
	// sublayerOut is a sublayer's dense output after dropout, read only by
	// the residual sum that follows it: one buffer for every sublayer.
	sublayerOut []float32 // N×H

	// Classification head.
	cls, pooled, pooledDrop, headHidden, headHiddenDrop []float32 // B×H
	clsMask, headMask                                   []uint8
	// Logits of the last forward pass: B×num_labels for classification,
	// M×V for the masked-LM head (M = masked positions).
	Logits  []float32
	dLogits []float32

	// Masked-LM head.
	mlmRows                        []int32 // flat B×T positions predicted
	mlmHidden                      []int32 // their rows in the N×H activations
	mlmLabels                      []int32
	mlmIn, mlmDense, mlmAct, mlmLN []float32 // M×H
	mlmAux                         []float32 // M×H
	mlmMean, mlmRstd               []float32
	maxMLM, mlmCount               int
	mlmLoss                        float64

	// Next-sentence head (PreTraining): pooler output in pooled, B×2 logits.
	nspLogits, dNSPLogits []float32
	nspLoss               float64

	// Backward scratch.
	dA, dB, dC     []float32 // N×H
	dq, dk, dv     []float32 // N×H
	dFFN           []float32 // N×I
	ffnAct         []float32 // N×I: activation output, recomputed per layer
	dProbs         []float32 // B×nh×T×T
	dHead1, dHead2 []float32 // B×H
	lnScratch      []float32
	dMLM1, dMLM2   []float32 // M×H

	drop dropouts
}

// NewWorkspace allocates the buffers for batches of up to maxB sequences of
// up to maxT tokens. For a masked-LM model, maxMLM bounds the number of
// predicted positions per batch (0 means all maxB·maxT).
func (m *Model) NewWorkspace(maxB, maxT, maxMLM int) *Workspace {
	c := m.Config
	n, h, i := maxB*maxT, c.HiddenSize, c.IntermediateSize
	att := maxB * c.NumAttentionHeads * maxT * maxT
	f := func(k int) []float32 { return make([]float32, k) }
	u := func(k int) []uint8 { return make([]uint8, k) }
	ws := &Workspace{maxB: maxB, maxT: maxT,
		embSum: f(n * h), embMean: f(n), embRstd: f(n), embLN: f(n * h), embMask: u(n * h), embOut: f(n * h),
		positionIDs: make([]int32, n), keep: make([]bool, n),
		seqStart: make([]int, maxB+1), seqLen: make([]int, maxB), attStart: make([]int, maxB+1),
		rowSrc: make([]int32, n), rowPos: make([]int32, n),
		dA: f(n * h), dB: f(n * h), dC: f(n * h), dq: f(n * h), dk: f(n * h), dv: f(n * h),
		dFFN: f(n * i), ffnAct: f(n * i), dProbs: f(att),
		lnScratch: f(2 * max(h, 1) * nn.Workers()),
	}
	ws.sublayerOut = f(n * h)
	ws.layers = make([]layerActs, c.NumHiddenLayers)
	for l := range ws.layers {
		a := &ws.layers[l]
		a.probs, a.probsMask = f(att), u(att)
		a.attnMask, a.res1 = u(n*h), f(n*h)
		a.ln1Mean, a.ln1Rstd = f(n), f(n)
		a.ffnPre = f(n * i)
		if m.act != nn.ReLU {
			a.ffnAux = f(n * i)
		}
		a.ffnMask, a.res2 = u(n*h), f(n*h)
		a.ln2Mean, a.ln2Rstd = f(n), f(n)
	}
	ws.layoutLayers(c, m.BF16())
	switch m.Head {
	case SequenceClassification:
		nl := c.NumLabels()
		ws.cls, ws.pooled, ws.pooledDrop = f(maxB*h), f(maxB*h), f(maxB*h)
		ws.headHidden, ws.headHiddenDrop = f(maxB*h), f(maxB*h)
		ws.clsMask, ws.headMask = u(maxB*h), u(maxB*h)
		ws.dHead1, ws.dHead2 = f(maxB*h), f(maxB*h)
		ws.Logits, ws.dLogits = f(maxB*nl), f(maxB*nl)
	case MaskedLM, PreTraining:
		if maxMLM <= 0 {
			maxMLM = n
		}
		ws.maxMLM = maxMLM
		ws.mlmRows, ws.mlmHidden, ws.mlmLabels = make([]int32, maxMLM), make([]int32, maxMLM), make([]int32, maxMLM)
		ws.mlmIn, ws.mlmDense, ws.mlmAct, ws.mlmLN = f(maxMLM*h), f(maxMLM*h), f(maxMLM*h), f(maxMLM*h)
		ws.mlmMean, ws.mlmRstd = f(maxMLM), f(maxMLM)
		ws.mlmAux = f(maxMLM * h)
		ws.dMLM1, ws.dMLM2 = f(maxMLM*h), f(maxMLM*h)
		ws.Logits, ws.dLogits = f(maxMLM*c.VocabSize), f(maxMLM*c.VocabSize)
		if m.Head == PreTraining {
			ws.cls, ws.pooled, ws.headHidden = f(maxB*h), f(maxB*h), f(maxB*h)
			ws.dHead1, ws.dHead2 = f(maxB*h), f(maxB*h)
			ws.nspLogits, ws.dNSPLogits = f(maxB*2), f(maxB*2)
		}
	}
	return ws
}

// layoutLayers gives every layer its q, k, v, ctx, ln1Out, out and
// dropped-out attention probabilities: its own float32 buffers, or, for
// bf16 mixed precision, rounded copies of its own and float32 buffers
// shared by all layers (see layerActs; the probabilities' is dProbs, which
// only the backward uses otherwise). A workspace used in the other
// precision than it was made for is laid out again.
func (ws *Workspace) layoutLayers(c Config, bf16 bool) {
	n, h := ws.maxB*ws.maxT, c.HiddenSize
	att := len(ws.dProbs)
	dropout := c.AttentionDropoutProb > 0
	f := func() []float32 { return make([]float32, n*h) }
	var shared [6][]float32
	if bf16 {
		for i := range shared {
			shared[i] = f()
		}
	}
	for l := range ws.layers {
		a := &ws.layers[l]
		a.probsDrop, a.probsDropR = a.probs, nil
		if bf16 {
			a.q, a.k, a.v, a.ctx, a.ln1Out, a.out = shared[0], shared[1], shared[2], shared[3], shared[4], shared[5]
			r := func() *blas.BF16Matrix { return blas.NewBF16Matrix(n, h) }
			a.inR, a.qR, a.kR, a.vR, a.ctxR, a.ln1OutR = r(), r(), r(), r(), r(), r()
			if dropout {
				a.probsDrop, a.probsDropR = ws.dProbs, make([]uint16, att)
			}
		} else {
			a.q, a.k, a.v, a.ctx, a.ln1Out, a.out = f(), f(), f(), f(), f(), f()
			a.inR, a.qR, a.kR, a.vR, a.ctxR, a.ln1OutR = nil, nil, nil, nil, nil, nil
			if dropout {
				a.probsDrop = make([]float32, att)
			}
		}
	}
	ws.bf16 = bf16
}

// workspaceParts estimates, in bytes, what NewWorkspace(maxB, maxT, maxMLM)
// allocates for c and head, in bf16 mixed precision or not, grouped by the
// config keys that size it. It mirrors NewWorkspace buffer by buffer;
// TestFootprintBoundsAllocation measures the two against each other.
func (c Config) workspaceParts(head Head, maxB, maxT, maxMLM int, bf16 bool) []part {
	const f32, bf16Bytes, i32, word = 4, 2, 4, 8
	b, t := float64(maxB), float64(maxT)
	n, h, i, l := b*t, float64(c.HiddenSize), float64(c.IntermediateSize), float64(c.NumHiddenLayers)
	att := b * float64(c.NumAttentionHeads) * t * t

	// Per layer: probs and their mask, plus the dropped-out copy (rounded
	// under bf16); the backward pass's dProbs once.
	probs := l*(f32+1)*att + f32*att
	switch {
	case c.AttentionDropoutProb > 0 && bf16:
		probs += l * bf16Bytes * att
	case c.AttentionDropoutProb > 0:
		probs += l * f32 * att
	}
	// Per layer: res1 and res2 (N×H), two masks (N×H bytes), four N
	// vectors, ffnPre and the activation's saved state (N×I); and q, k, v,
	// ctx, ln1Out and out (N×H), in float32 or, under bf16, rounded (half
	// the bytes) with one float32 set for all layers. Once: sublayerOut,
	// the embeddings' three N×H, mask and two N vectors; the backward's six
	// N×H and two N×I; ids.
	ffnSaved := 2.0
	if act, _ := nn.ParseActivation(c.HiddenAct); act == nn.ReLU {
		ffnSaved = 1
	}
	kept := l * 6 * f32 * n * h
	if bf16 {
		kept = l*6*bf16Bytes*n*h + 6*f32*n*h
	}
	acts := l*(2*f32*n*h+2*n*h+4*f32*n+ffnSaved*f32*n*i) + kept +
		(1+3+6)*f32*n*h + n*h + 2*f32*n + 2*f32*n*i + 3*i32*n + n + word*(3*b+2) +
		2*f32*h*float64(nn.Workers()) // lnScratch
	parts := []part{
		{fmt.Sprintf("attention probabilities: batch %d × num_attention_heads %d × sequence length %d² × num_hidden_layers %d",
			maxB, c.NumAttentionHeads, maxT, c.NumHiddenLayers), probs},
		{fmt.Sprintf("activations: batch %d × sequence length %d × num_hidden_layers %d × (hidden_size %d, intermediate_size %d)",
			maxB, maxT, c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize), acts},
	}
	switch head {
	case SequenceClassification:
		parts = append(parts, part{fmt.Sprintf("classifier activations: batch %d × hidden_size %d", maxB, c.HiddenSize),
			7*f32*b*h + 2*b*h + 2*f32*b*float64(c.NumLabels())})
	case MaskedLM, PreTraining:
		m := float64(maxMLM)
		if maxMLM <= 0 {
			m = n
		}
		v := float64(c.VocabSize)
		mlm := 2*f32*m*v + 7*f32*m*h + 2*f32*m + 3*i32*m
		if head == PreTraining {
			mlm += 5*f32*b*h + 4*f32*b
		}
		parts = append(parts, part{fmt.Sprintf("masked-LM logits: %.0f masked positions × vocab_size %d", m, c.VocabSize), mlm})
	}
	return parts
}

// Hidden returns the encoder output of the last forward pass, one row of H
// per token row: B×T×H when the padding was kept (KeepPadding, or a batch
// that is not right-padded), else the real tokens only, sequence after
// sequence; Rows maps each row to its batch position.
func (ws *Workspace) Hidden(m *Model) []float32 {
	n := ws.nTok * m.Config.HiddenSize
	if len(ws.layers) == 0 {
		return ws.embOut[:n]
	}
	return ws.layers[len(ws.layers)-1].out[:n]
}

// Rows returns, for each row of Hidden, its flat B×T position in the batch.
func (ws *Workspace) Rows() []int32 { return ws.rowSrc[:ws.nTok] }

// NextSentenceLogits returns the PreTraining head's B×2 logits of the last
// forward pass: column 0 "is next", column 1 "is random".
func (ws *Workspace) NextSentenceLogits() []float32 { return ws.nspLogits[:2*ws.b] }

// LossParts returns the masked-LM and next-sentence losses whose sum the
// last PreTraining forward pass returned.
func (ws *Workspace) LossParts() (mlm, nsp float64) { return ws.mlmLoss, ws.nspLoss }

// MaskedPositions returns the flat B×T positions the masked-LM head predicted
// in the last forward pass, in the row order of Logits.
func (ws *Workspace) MaskedPositions() []int32 { return ws.mlmRows[:ws.mlmCount] }
