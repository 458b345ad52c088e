package model

import (
	"github.com/subtune/subtune/nn"
)

// ---------------------------------------------------------------------------
// Sequence classification. BERT: pooler dense+tanh on [CLS], dropout,
// classifier. RoBERTa (RobertaClassificationHead): dropout on <s>, dense,
// tanh, dropout, out_proj.

func (m *Model) classifierForward(ws *Workspace, b *Batch, d dropouts) {
	c := m.Config
	H, B, nl := c.HiddenSize, b.B, c.NumLabels()
	cls := ws.gatherFirst(m, B)
	logits := ws.Logits[:B*nl]
	if c.ModelType == "roberta" {
		w1, b1 := m.headWeight("classifier.dense.weight"), m.headTensor("classifier.dense.bias")
		w2, b2 := m.headWeight("classifier.out_proj.weight"), m.headTensor("classifier.out_proj.bias")
		x := ws.pooledDrop[:B*H]
		nn.Dropout(x, cls, ws.clsMask[:B*H], d.classifier, nn.SeedFor(d.seed, siteHead1))
		nn.LinearForward(ws.headHidden[:B*H], x, w1, b1, B, H, H)
		nn.TanhForward(ws.pooled[:B*H], ws.headHidden[:B*H])
		nn.Dropout(ws.headHiddenDrop[:B*H], ws.pooled[:B*H], ws.headMask[:B*H], d.classifier, nn.SeedFor(d.seed, siteHead2))
		nn.LinearForward(logits, ws.headHiddenDrop[:B*H], w2, b2, B, H, nl)
		return
	}
	wc, bc := m.headWeight("classifier.weight"), m.headTensor("classifier.bias")
	m.poolerForward(ws, B)
	nn.Dropout(ws.pooledDrop[:B*H], ws.pooled[:B*H], ws.clsMask[:B*H], d.classifier, nn.SeedFor(d.seed, siteHead1))
	nn.LinearForward(logits, ws.pooledDrop[:B*H], wc, bc, B, H, nl)
}

// Argmax is the class a row of logits predicts: the index of the largest
// value, the first of equal ones (as torch.argmax). A NaN is never larger
// than anything, so it wins only in the first place.
func Argmax(logits []float32) int {
	best := 0
	for j, v := range logits {
		if v > logits[best] {
			best = j
		}
	}
	return best
}

// classifierBackward reads ∂loss/∂logits from ws.dLogits and writes
// ∂loss/∂hidden into dHidden (B×T×H), zero except at the first token.
func (m *Model) classifierBackward(ws *Workspace, b *Batch, dHidden []float32, d dropouts) {
	c := m.Config
	H, B, nl := c.HiddenSize, b.B, c.NumLabels()
	dl := ws.dLogits[:B*nl]
	d1, d2 := ws.dHead1[:B*H], ws.dHead2[:B*H]
	if c.ModelType == "roberta" {
		w1, w2 := m.headWeight("classifier.dense.weight"), m.headWeight("classifier.out_proj.weight")
		g1, gb1 := m.headGrad("classifier.dense.weight"), m.headGrad("classifier.dense.bias")
		g2, gb2 := m.headGrad("classifier.out_proj.weight"), m.headGrad("classifier.out_proj.bias")
		nn.LinearBackward(d1, g2, gb2, dl, ws.headHiddenDrop[:B*H], w2, B, H, nl, false)
		nn.DropoutBackward(d1, d1, ws.headMask[:B*H], d.classifier)
		nn.TanhBackward(d1, d1, ws.pooled[:B*H])
		nn.LinearBackward(d2, g1, gb1, d1, ws.pooledDrop[:B*H], w1, B, H, H, false)
		nn.DropoutBackward(d2, d2, ws.clsMask[:B*H], d.classifier)
	} else {
		wc := m.headWeight("classifier.weight")
		gc, gbc := m.headGrad("classifier.weight"), m.headGrad("classifier.bias")
		nn.LinearBackward(d1, gc, gbc, dl, ws.pooledDrop[:B*H], wc, B, H, nl, false)
		nn.DropoutBackward(d1, d1, ws.clsMask[:B*H], d.classifier)
		m.poolerBackward(ws, d2, d1, B)
	}
	clear(dHidden[:ws.nTok*H])
	ws.scatterFirst(dHidden, d2, B, H)
}

// gatherFirst copies each sequence's first-token ([CLS], <s>) hidden state
// into ws.cls and returns it (B×H).
func (ws *Workspace) gatherFirst(m *Model, B int) []float32 {
	H := m.Config.HiddenSize
	hidden, cls := ws.Hidden(m), ws.cls[:B*H]
	for s := 0; s < B; s++ {
		o := ws.seqStart[s] * H
		copy(cls[s*H:(s+1)*H], hidden[o:o+H])
	}
	return cls
}

// poolerForward is BertPooler on the gathered first tokens (ws.cls): dense
// then tanh, into ws.pooled.
func (m *Model) poolerForward(ws *Workspace, B int) {
	H, p := m.Config.HiddenSize, m.Config.ModelType+"."
	nn.LinearForward(ws.headHidden[:B*H], ws.cls[:B*H], m.headWeight(p+"pooler.dense.weight"), m.headTensor(p+"pooler.dense.bias"), B, H, H)
	nn.TanhForward(ws.pooled[:B*H], ws.headHidden[:B*H])
}

// poolerBackward turns ∂loss/∂pooled (dPooled, overwritten) into
// ∂loss/∂cls (dCLS) and accumulates the pooler's gradients.
func (m *Model) poolerBackward(ws *Workspace, dCLS, dPooled []float32, B int) {
	H, p := m.Config.HiddenSize, m.Config.ModelType+"."
	nn.TanhBackward(dPooled, dPooled, ws.pooled[:B*H])
	nn.LinearBackward(dCLS, m.headGrad(p+"pooler.dense.weight"), m.headGrad(p+"pooler.dense.bias"), dPooled, ws.cls[:B*H],
		m.headWeight(p+"pooler.dense.weight"), B, H, H, false)
}

// scatterFirst adds d (B×H) into the first-token rows of dHidden.
func (ws *Workspace) scatterFirst(dHidden, d []float32, B, H int) {
	for s := 0; s < B; s++ {
		row := dHidden[ws.seqStart[s]*H:][:H]
		for j, v := range d[s*H : (s+1)*H] {
			row[j] += v
		}
	}
}

// ---------------------------------------------------------------------------
// Next-sentence prediction (BertForPreTraining's cls.seq_relationship): the
// pooler (dense+tanh on [CLS]), then a 2-way linear, no dropout between.

func (m *Model) nspForward(ws *Workspace, b *Batch) {
	H, B := m.Config.HiddenSize, b.B
	ws.gatherFirst(m, B)
	m.poolerForward(ws, B)
	nn.LinearForward(ws.nspLogits[:2*B], ws.pooled[:B*H], m.headWeight("cls.seq_relationship.weight"), m.headTensor("cls.seq_relationship.bias"), B, H, 2)
}

// nspBackward adds the next-sentence loss's gradient into dHidden, which
// already holds the masked-LM head's.
func (m *Model) nspBackward(ws *Workspace, b *Batch, dHidden []float32) {
	H, B := m.Config.HiddenSize, b.B
	d1, d2 := ws.dHead1[:B*H], ws.dHead2[:B*H]
	nn.LinearBackward(d1, m.headGrad("cls.seq_relationship.weight"), m.headGrad("cls.seq_relationship.bias"), ws.dNSPLogits[:2*B],
		ws.pooled[:B*H], m.headWeight("cls.seq_relationship.weight"), B, H, 2, false)
	m.poolerBackward(ws, d2, d1, B)
	ws.scatterFirst(dHidden, d2, B, H)
}

// ---------------------------------------------------------------------------
// Masked LM (BertOnlyMLMHead / RobertaLMHead): on the positions to predict,
// dense, activation, LayerNorm, then the decoder tied to the word embeddings
// plus a bias.

func (m *Model) mlmNames() (bias, dw, db, lnw, lnb string) {
	if m.Config.ModelType == "roberta" {
		return "lm_head.bias", "lm_head.dense.weight", "lm_head.dense.bias", "lm_head.layer_norm.weight", "lm_head.layer_norm.bias"
	}
	return "cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
		"cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"
}

func (m *Model) mlmAct() nn.Activation {
	if m.Config.ModelType == "roberta" {
		return nn.GELU // RobertaLMHead calls gelu regardless of hidden_act
	}
	return m.act
}

func (m *Model) mlmForward(ws *Workspace, b *Batch) {
	c := m.Config
	H, V, M := c.HiddenSize, c.VocabSize, ws.mlmCount
	hidden := ws.Hidden(m)
	x := ws.mlmIn[:M*H]
	for r, row := range ws.mlmHidden[:M] {
		copy(x[r*H:(r+1)*H], hidden[int(row)*H:int(row)*H+H])
	}
	bias, dw, db, lnw, lnb := m.mlmNames()
	nn.LinearForward(ws.mlmDense[:M*H], x, m.headWeight(dw), m.headTensor(db), M, H, H)
	nn.ActivationForward(m.mlmAct(), ws.mlmAct[:M*H], ws.mlmAux, ws.mlmDense[:M*H])
	nn.LayerNormForward(ws.mlmLN[:M*H], ws.mlmMean[:M], ws.mlmRstd[:M], ws.mlmAct[:M*H], m.headTensor(lnw), m.headTensor(lnb), M, H, float32(c.LayerNormEps))
	nn.LinearForward(ws.Logits[:M*V], ws.mlmLN[:M*H], m.weight(m.wordEmb, V*H), m.headTensor(bias), M, H, V)
}

func (m *Model) mlmBackward(ws *Workspace, b *Batch, dHidden []float32) {
	c := m.Config
	H, V, M := c.HiddenSize, c.VocabSize, ws.mlmCount
	bias, dw, db, lnw, lnb := m.mlmNames()
	d1, d2 := ws.dMLM1[:M*H], ws.dMLM2[:M*H]
	nn.LinearBackward(d1, m.Grad[m.wordEmb:m.wordEmb+V*H], m.headGrad(bias), ws.dLogits[:M*V], ws.mlmLN[:M*H],
		m.weight(m.wordEmb, V*H), M, H, V, false)
	nn.LayerNormBackward(d2, m.headGrad(lnw), m.headGrad(lnb), d1, ws.mlmAct[:M*H], ws.mlmMean[:M], ws.mlmRstd[:M],
		m.headTensor(lnw), M, H, ws.lnScratch)
	nn.ActivationBackward(m.mlmAct(), d2, d2, ws.mlmDense[:M*H], ws.mlmAux)
	nn.LinearBackward(d1, m.headGrad(dw), m.headGrad(db), d2, ws.mlmIn[:M*H], m.headWeight(dw), M, H, H, false)
	clear(dHidden[:ws.nTok*H])
	for r, row := range ws.mlmHidden[:M] {
		copy(dHidden[int(row)*H:int(row)*H+H], d1[r*H:(r+1)*H])
	}
}

func (m *Model) headTensor(name string) []float32 {
	t := m.Tensors[m.byName[name]]
	return m.Data[t.Offset : t.Offset+t.Size]
}

func (m *Model) headGrad(name string) []float32 {
	t := m.Tensors[m.byName[name]]
	return m.Grad[t.Offset : t.Offset+t.Size]
}
