package model

import (
	"fmt"

	"github.com/subtune/subtune/nn"
)

// Pass configures one forward pass.
type Pass struct {
	// Train enables dropout, as model.train() does.
	Train bool
	// Seed determines every dropout mask of the pass.
	Seed uint64
}

// Forward runs the model on a batch and returns the loss (0 when the batch
// has no labels), which may be NaN or infinite: whether that stops a run is
// the caller's to decide. The error reports a batch the model cannot run.
// Logits are left in ws.Logits and everything Backward needs in ws.
func (m *Model) Forward(ws *Workspace, b *Batch, pass Pass) (float64, error) {
	if err := m.checkBatch(ws, b); err != nil {
		return 0, err
	}
	m.roundWeights()
	c := m.Config
	if ws.bf16 != m.BF16() {
		ws.layoutLayers(c, m.BF16())
	}
	d := dropouts{seed: pass.Seed}
	if pass.Train {
		d.hidden, d.attention = float32(c.HiddenDropoutProb), float32(c.AttentionDropoutProb)
		d.classifier = float32(c.ClassifierDropoutProb())
	}
	ws.b, ws.t, ws.drop = b.B, b.T, d
	ws.layout(b, c.NumAttentionHeads)
	n := ws.nTok
	m.embeddingsForward(ws, b, d)
	in := ws.embOut[:n*c.HiddenSize]
	for l := range ws.layers {
		m.layerForward(ws, l, b, in, d)
		in = ws.layers[l].out[:n*c.HiddenSize]
	}
	switch m.Head {
	case SequenceClassification:
		m.classifierForward(ws, b, d)
		return m.classifierLoss(ws, b)
	case MaskedLM, PreTraining:
		ws.nspLoss = 0
		loss, err := m.mlmLoss(ws, b)
		if err != nil || m.Head == MaskedLM {
			return loss, err
		}
		m.nspForward(ws, b)
		if b.NextSentenceLabels == nil {
			return loss, nil
		}
		ws.nspLoss, _ = nn.CrossEntropyForward(ws.dNSPLogits[:2*b.B], ws.nspLogits[:2*b.B], b.NextSentenceLabels, b.B, 2, IgnoreIndex)
		return loss + ws.nspLoss, nil
	}
	return 0, nil
}

// mlmLoss runs the masked-LM head on the positions with labels (every
// position when the batch has none) and returns their mean cross-entropy.
func (m *Model) mlmLoss(ws *Workspace, b *Batch) (float64, error) {
	c := m.Config
	ws.mlmCount, ws.mlmLoss = 0, 0
	for r, i := range ws.rowSrc[:ws.nTok] {
		if b.MLMLabels == nil || b.MLMLabels[i] != IgnoreIndex {
			if ws.mlmCount == ws.maxMLM {
				return 0, fmt.Errorf("batch has more than %d positions to predict", ws.maxMLM)
			}
			ws.mlmRows[ws.mlmCount], ws.mlmHidden[ws.mlmCount] = i, int32(r)
			if b.MLMLabels != nil {
				ws.mlmLabels[ws.mlmCount] = b.MLMLabels[i]
			}
			ws.mlmCount++
		}
	}
	m.mlmForward(ws, b)
	if b.MLMLabels == nil {
		return 0, nil
	}
	ws.mlmLoss, _ = nn.CrossEntropyForward(ws.dLogits[:ws.mlmCount*c.VocabSize], ws.Logits[:ws.mlmCount*c.VocabSize],
		ws.mlmLabels[:ws.mlmCount], ws.mlmCount, c.VocabSize, IgnoreIndex)
	return ws.mlmLoss, nil
}

func (m *Model) classifierLoss(ws *Workspace, b *Batch) (float64, error) {
	c := m.Config
	nl := c.NumLabels()
	logits := ws.Logits[:b.B*nl]
	if c.IsRegression() {
		if b.Targets == nil {
			return 0, nil
		}
		if nl != 1 {
			return 0, fmt.Errorf("regression needs num_labels 1, config has %d", nl)
		}
		loss := nn.MSEForward(ws.dLogits[:b.B], logits, b.Targets, b.B)
		return loss, nil
	}
	if b.Labels == nil {
		return 0, nil
	}
	for i, l := range b.Labels[:b.B] {
		if l < 0 || int(l) >= nl {
			return 0, fmt.Errorf("label %d of sequence %d outside [0, %d)", l, i, nl)
		}
	}
	loss, _ := nn.CrossEntropyForward(ws.dLogits[:b.B*nl], logits, b.Labels, b.B, nl, IgnoreIndex)
	return loss, nil
}

// Backward accumulates ∂loss/∂parameters of the last Forward into m.Grad.
// It needs a Forward with labels on the same workspace just before.
func (m *Model) Backward(ws *Workspace, b *Batch) {
	if ws.bf16 != m.BF16() {
		panic("model: Backward in another precision than the Forward before it (SetBF16 between them)")
	}
	c := m.Config
	n, H := ws.nTok, c.HiddenSize
	d := ws.drop
	dOut, dIn := ws.dA[:n*H], ws.dB[:n*H]
	switch m.Head {
	case SequenceClassification:
		m.classifierBackward(ws, b, dOut, d)
	case MaskedLM:
		m.mlmBackward(ws, b, dOut)
	case PreTraining:
		m.mlmBackward(ws, b, dOut)
		m.nspBackward(ws, b, dOut)
	default:
		panic("model: Backward needs a head that defines a loss")
	}
	for l := len(ws.layers) - 1; l >= 0; l-- {
		m.layerBackward(ws, l, b, dOut, dIn, d)
		dOut, dIn = dIn, dOut
	}
	m.embeddingsBackward(ws, b, dOut, d)
}

func (m *Model) checkBatch(ws *Workspace, b *Batch) error {
	c := m.Config
	if b.B <= 0 || b.T <= 0 {
		return fmt.Errorf("empty batch (%d×%d)", b.B, b.T)
	}
	if b.B > ws.maxB || b.T > ws.maxT {
		return fmt.Errorf("batch %d×%d exceeds the workspace's %d×%d", b.B, b.T, ws.maxB, ws.maxT)
	}
	n := b.B * b.T
	if len(b.InputIDs) < n || (b.TokenTypeIDs != nil && len(b.TokenTypeIDs) < n) || (b.AttentionMask != nil && len(b.AttentionMask) < n) {
		return fmt.Errorf("batch arrays shorter than %d×%d", b.B, b.T)
	}
	maxPos := c.MaxPositionEmbeddings
	if c.ModelType == "roberta" {
		maxPos -= c.PadTokenID + 1
	}
	if b.T > maxPos {
		return fmt.Errorf("sequence length %d exceeds the model's %d positions", b.T, maxPos)
	}
	for i := 0; i < n; i++ {
		if id := b.InputIDs[i]; id < 0 || int(id) >= c.VocabSize {
			return fmt.Errorf("token id %d at sequence %d position %d outside vocab_size %d", id, i/b.T, i%b.T, c.VocabSize)
		}
		if b.TokenTypeIDs != nil {
			if tt := b.TokenTypeIDs[i]; tt < 0 || int(tt) >= c.TypeVocabSize {
				return fmt.Errorf("token type %d at sequence %d position %d outside type_vocab_size %d", tt, i/b.T, i%b.T, c.TypeVocabSize)
			}
		}
	}
	if b.NextSentenceLabels != nil {
		if len(b.NextSentenceLabels) < b.B {
			return fmt.Errorf("%d next-sentence labels for %d sequences", len(b.NextSentenceLabels), b.B)
		}
		for i, l := range b.NextSentenceLabels[:b.B] {
			if l != 0 && l != 1 {
				return fmt.Errorf("next-sentence label %d of sequence %d is neither 0 nor 1", l, i)
			}
		}
	}
	if b.MLMLabels != nil {
		if len(b.MLMLabels) < n {
			return fmt.Errorf("%d masked-LM labels for a %d×%d batch", len(b.MLMLabels), b.B, b.T)
		}
		for i := 0; i < n; i++ {
			if l := b.MLMLabels[i]; l != IgnoreIndex && (l < 0 || int(l) >= c.VocabSize) {
				return fmt.Errorf("masked-LM label %d at position %d outside vocab_size %d", l, i, c.VocabSize)
			}
		}
	}
	return nil
}

// layout decides the token rows of a pass. A batch whose every sequence is
// a run of real tokens followed by padding (and whose masked-LM labels, if
// any, sit on real tokens) is packed: padding rows are dropped, since no
// real token attends to them and no loss reads them. Any other batch, or
// ws.KeepPadding, keeps the B×T layout with padded keys masked out.
func (ws *Workspace) layout(b *Batch, heads int) {
	B, T := b.B, b.T
	packed := !ws.KeepPadding && b.AttentionMask != nil
	for s := 0; s < B && packed; s++ {
		mask := b.AttentionMask[s*T : (s+1)*T]
		L := 0
		for L < T && mask[L] != 0 {
			L++
		}
		packed = L > 0
		for t := L; t < T && packed; t++ {
			packed = mask[t] == 0 && (b.MLMLabels == nil || b.MLMLabels[s*T+t] == IgnoreIndex)
		}
		ws.seqLen[s] = L
	}
	ws.packed = packed
	ws.seqStart[0], ws.attStart[0] = 0, 0
	for s := 0; s < B; s++ {
		if !packed {
			ws.seqLen[s] = T
		}
		L := ws.seqLen[s]
		ws.seqStart[s+1] = ws.seqStart[s] + L
		ws.attStart[s+1] = ws.attStart[s] + heads*L*L
		for t := 0; t < L; t++ {
			r, i := ws.seqStart[s]+t, s*T+t
			ws.rowSrc[r] = int32(i)
			ws.keep[r] = b.AttentionMask == nil || b.AttentionMask[i] != 0
		}
	}
	ws.nTok = ws.seqStart[B]
}
