package model

import (
	"math"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/nn"
)

// Dropout site identifiers, mixed into each step's seed.
const (
	siteEmbedding = iota + 1
	siteAttentionProbs
	siteAttentionOutput
	siteFFNOutput
	siteHead1
	siteHead2
)

// dropouts are the probabilities of one pass: zero in evaluation.
type dropouts struct {
	hidden, attention, classifier float32
	seed                          uint64
}

// ---------------------------------------------------------------------------
// Embeddings: LayerNorm(word[id] + position[pos] + token_type[tt]), dropout.

func (m *Model) embeddingsForward(ws *Workspace, b *Batch, d dropouts) {
	c := m.Config
	h, n := c.HiddenSize, ws.nTok
	// Position ids: 0..T−1 for BERT; for RoBERTa, padding_idx+1 onwards
	// counting only non-pad tokens, and padding_idx on pads
	// (create_position_ids_from_input_ids).
	pos := ws.positionIDs[:b.B*b.T]
	for s := 0; s < b.B; s++ {
		count := int32(0)
		for t := 0; t < b.T; t++ {
			i := s*b.T + t
			if c.ModelType == "roberta" {
				if b.InputIDs[i] != int32(c.PadTokenID) {
					count++
					pos[i] = count + int32(c.PadTokenID)
				} else {
					pos[i] = int32(c.PadTokenID)
				}
			} else {
				pos[i] = int32(t)
			}
		}
	}
	for r, i := range ws.rowSrc[:n] {
		ws.rowPos[r] = pos[i]
	}
	word, posE, typ := m.Data[m.wordEmb:], m.Data[m.posEmb:], m.Data[m.typeEmb:]
	sum := ws.embSum[:n*h]
	nn.ParallelFor(n, 3*h, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			src := ws.rowSrc[i]
			w := int(b.InputIDs[src]) * h
			p := int(ws.rowPos[i]) * h
			tt := 0
			if b.TokenTypeIDs != nil {
				tt = int(b.TokenTypeIDs[src]) * h
			}
			o := sum[i*h : (i+1)*h]
			for j := range o {
				o[j] = word[w+j] + posE[p+j] + typ[tt+j]
			}
		}
	})
	nn.LayerNormForward(ws.embLN[:n*h], ws.embMean[:n], ws.embRstd[:n], sum, m.Data[m.embLNw:], m.Data[m.embLNb:], n, h, float32(c.LayerNormEps))
	nn.Dropout(ws.embOut[:n*h], ws.embLN[:n*h], ws.embMask[:n*h], d.hidden, nn.SeedFor(d.seed, siteEmbedding))
}

func (m *Model) embeddingsBackward(ws *Workspace, b *Batch, dOut []float32, d dropouts) {
	c := m.Config
	h, n := c.HiddenSize, ws.nTok
	nn.DropoutBackward(dOut, dOut, ws.embMask[:n*h], d.hidden)
	dSum := ws.dC[:n*h]
	nn.LayerNormBackward(dSum, m.Grad[m.embLNw:m.embLNw+h], m.Grad[m.embLNb:m.embLNb+h], dOut, ws.embSum[:n*h],
		ws.embMean[:n], ws.embRstd[:n], m.Data[m.embLNw:], n, h, ws.lnScratch)
	// Scatter-add into the embedding tables. Each worker owns a range of
	// hidden columns, so no two workers touch the same float. Rows at
	// padding_idx get no gradient, as nn.Embedding(padding_idx=...).
	pad := int32(c.PadTokenID)
	gw, gp, gt := m.Grad[m.wordEmb:], m.Grad[m.posEmb:], m.Grad[m.typeEmb:]
	pos := ws.rowPos[:n]
	nn.ParallelFor(h, 3*n, func(lo, hi int) {
		for i := 0; i < n; i++ {
			g := dSum[i*h+lo : i*h+hi]
			src := ws.rowSrc[i]
			if id := b.InputIDs[src]; id != pad {
				row := gw[int(id)*h+lo : int(id)*h+hi]
				for j, v := range g {
					row[j] += v
				}
			}
			if c.ModelType != "roberta" || pos[i] != pad {
				row := gp[int(pos[i])*h+lo : int(pos[i])*h+hi]
				for j, v := range g {
					row[j] += v
				}
			}
			tt := 0
			if b.TokenTypeIDs != nil {
				tt = int(b.TokenTypeIDs[src])
			}
			row := gt[tt*h+lo : tt*h+hi]
			for j, v := range g {
				row[j] += v
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Encoder layer: self-attention, dense, dropout, residual, LayerNorm; then
// intermediate dense, activation, output dense, dropout, residual, LayerNorm.

// layerParams are the views of one layer's tensors in a flat buffer (Data or
// Grad). New builds them once per layer, by name.
type layerParams struct {
	qw, qb, kw, kb, vw, vb, ow, ob, ln1w, ln1b, iw, ib, fw, fb, ln2w, ln2b []float32
}

// newLayerParams cuts the tensors of lay out of layer, one layer's vector.
func newLayerParams(lay LayerLayout, layer []float32) layerParams {
	v := func(name string) []float32 {
		t := lay[lay.Index(name)]
		return layer[t.Offset : t.Offset+t.Size]
	}
	return layerParams{
		qw: v("attention.self.query.weight"), qb: v("attention.self.query.bias"),
		kw: v("attention.self.key.weight"), kb: v("attention.self.key.bias"),
		vw: v("attention.self.value.weight"), vb: v("attention.self.value.bias"),
		ow: v("attention.output.dense.weight"), ob: v("attention.output.dense.bias"),
		ln1w: v("attention.output.LayerNorm.weight"), ln1b: v("attention.output.LayerNorm.bias"),
		iw: v("intermediate.dense.weight"), ib: v("intermediate.dense.bias"),
		fw: v("output.dense.weight"), fb: v("output.dense.bias"),
		ln2w: v("output.LayerNorm.weight"), ln2b: v("output.LayerNorm.bias"),
	}
}

func (m *Model) layerForward(ws *Workspace, l int, b *Batch, in []float32, d dropouts) {
	c := m.Config
	a := &ws.layers[l]
	p, w := &m.params[l], &m.weights[l]
	bf16 := m.bf16 != nil
	B, H, I := b.B, c.HiddenSize, c.IntermediateSize
	nh, hd := c.NumAttentionHeads, c.HeadDim()
	n := ws.nTok
	eps := float32(c.LayerNormEps)
	a.in = in

	q, k, v := a.q[:n*H], a.k[:n*H], a.v[:n*H]
	if bf16 { // one rounding of the input for the three products and the backward
		a.inR.Round(n, H, in, H)
		nn.LinearForwardRounded(q, a.inR, w.q, p.qb, n, H, H)
		nn.LinearForwardRounded(k, a.inR, w.k, p.kb, n, H, H)
		nn.LinearForwardRounded(v, a.inR, w.v, p.vb, n, H, H)
		a.qR.Round(n, H, q, H)
		a.kR.Round(n, H, k, H)
		a.vR.Round(n, H, v, H)
	} else {
		nn.LinearForward(q, in, w.q, p.qb, n, H, H)
		nn.LinearForward(k, in, w.k, p.kb, n, H, H)
		nn.LinearForward(v, in, w.v, p.vb, n, H, H)
	}

	// Per sequence and head, on its own core: scores S = Q·Kᵀ/√d, softmax
	// over the unmasked keys, dropout on the probabilities, context = P·V.
	// Keeping one head's L×L block hot in cache through all four steps is
	// what makes attention cheap next to the dense layers.
	att := ws.attStart[B]
	probs, probsDrop, probsMask := a.probs[:att], a.probsDrop[:att], a.probsMask[:att]
	if d.attention <= 0 {
		probsDrop = probs
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	ctx := a.ctx[:n*H]
	qR, kR, vR, pR := a.rounded(d)
	seed := nn.SeedFor(d.seed, siteAttentionProbs, uint64(l))
	nn.ParallelFor(B*nh, 6*att/(B*nh)*hd, func(lo, hi int) {
		for head := lo; head < hi; head++ {
			s, hh := head/nh, head%nh
			L, start := ws.seqLen[s], ws.seqStart[s]
			o, po := start*H+hh*hd, ws.attStart[s]+hh*L*L
			p := probs[po : po+L*L]
			nn.MatmulSerial(bf16, false, true, L, L, hd, scale, operand(q, qR, o, H), operand(k, kR, o, H), 0, p, L)
			nn.AttentionSoftmaxRows(p, p, ws.keep[start:start+L], 0, L, L, L)
			if d.attention > 0 {
				nn.DropoutAt(probsDrop[po:po+L*L], p, probsMask[po:po+L*L], d.attention, seed, po)
				if pR != nil {
					blas.RoundInto(pR[po:po+L*L], probsDrop[po:po+L*L])
				}
			}
			nn.MatmulSerial(bf16, false, false, L, hd, L, 1, operand(probsDrop, pR, po, L), operand(v, vR, o, H), 0, ctx[o:], H)
		}
	})

	attnOut, res1 := ws.sublayerOut[:n*H], a.res1[:n*H]
	if bf16 {
		a.ctxR.Round(n, H, ctx, H)
		nn.LinearForwardRounded(attnOut, a.ctxR, w.o, p.ob, n, H, H)
	} else {
		nn.LinearForward(attnOut, ctx, w.o, p.ob, n, H, H)
	}
	nn.Dropout(attnOut, attnOut, a.attnMask[:n*H], d.hidden, nn.SeedFor(d.seed, siteAttentionOutput, uint64(l)))
	addInto(res1, attnOut, in)
	ln1Out := a.ln1Out[:n*H]
	nn.LayerNormForward(ln1Out, a.ln1Mean[:n], a.ln1Rstd[:n], res1, p.ln1w, p.ln1b, n, H, eps)

	if bf16 {
		a.ln1OutR.Round(n, H, ln1Out, H)
		nn.LinearForwardRounded(a.ffnPre[:n*I], a.ln1OutR, w.i, p.ib, n, H, I)
	} else {
		nn.LinearForward(a.ffnPre[:n*I], ln1Out, w.i, p.ib, n, H, I)
	}
	act := ws.ffnAct[:n*I]
	nn.ActivationForward(m.act, act, a.ffnAux, a.ffnPre[:n*I])
	ffnOut, res2 := ws.sublayerOut[:n*H], a.res2[:n*H]
	nn.LinearForward(ffnOut, act, w.f, p.fb, n, I, H)
	nn.Dropout(ffnOut, ffnOut, a.ffnMask[:n*H], d.hidden, nn.SeedFor(d.seed, siteFFNOutput, uint64(l)))
	addInto(res2, ffnOut, ln1Out)
	nn.LayerNormForward(a.out[:n*H], a.ln2Mean[:n], a.ln2Rstd[:n], res2, p.ln2w, p.ln2b, n, H, eps)
}

// rounded returns the bfloat16 bits of the queries, keys, values and
// dropped-out probabilities the layer keeps (layerActs): nil in float32, and
// the probabilities' also in a pass without attention dropout, which reads
// probs itself.
func (a *layerActs) rounded(d dropouts) (q, k, v, probsDrop []uint16) {
	if a.qR == nil {
		return nil, nil, nil, nil
	}
	if d.attention > 0 {
		probsDrop = a.probsDropR
	}
	return a.qR.Bits(), a.kR.Bits(), a.vR.Bits(), probsDrop
}

// operand is x from offset o on, row stride ld, as a per-head product reads
// it: its rounded bits when the layer keeps them (bits not nil), else
// float32.
func operand(x []float32, bits []uint16, o, ld int) blas.Operand {
	if bits != nil {
		return blas.Operand{Bits: bits[o:], LD: ld}
	}
	return blas.Operand{F32: x[o:], LD: ld}
}

// layerBackward takes ∂loss/∂out in dOut and leaves ∂loss/∂in in dIn,
// accumulating the layer's parameter gradients. dOut is clobbered.
func (m *Model) layerBackward(ws *Workspace, l int, b *Batch, dOut, dIn []float32, d dropouts) {
	c := m.Config
	a := &ws.layers[l]
	p, g, w := &m.params[l], &m.grads[l], &m.weights[l]
	bf16 := m.bf16 != nil
	B, H, I := b.B, c.HiddenSize, c.IntermediateSize
	nh, hd := c.NumAttentionHeads, c.HeadDim()
	n := ws.nTok

	// LayerNorm 2, then the residual splits the gradient two ways.
	dRes := ws.dC[:n*H]
	nn.LayerNormBackward(dRes, g.ln2w, g.ln2b, dOut, a.res2[:n*H], a.ln2Mean[:n], a.ln2Rstd[:n], p.ln2w, n, H, ws.lnScratch)
	dLN1 := dOut // reuse: dOut is no longer needed
	copy(dLN1, dRes)
	nn.DropoutBackward(dRes, dRes, a.ffnMask[:n*H], d.hidden)
	dFFN := ws.dFFN[:n*I]
	act := ws.ffnAct[:n*I]
	nn.ActivationRecompute(m.act, act, a.ffnAux, a.ffnPre[:n*I])
	nn.LinearBackward(dFFN, g.fw, g.fb, dRes, act, w.f, n, I, H, false)
	nn.ActivationBackward(m.act, dFFN, dFFN, a.ffnPre[:n*I], a.ffnAux)
	if bf16 {
		nn.LinearBackwardRounded(dLN1, g.iw, g.ib, dFFN, a.ln1OutR, w.i, n, H, I, true)
	} else {
		nn.LinearBackward(dLN1, g.iw, g.ib, dFFN, a.ln1Out[:n*H], w.i, n, H, I, true)
	}

	// LayerNorm 1, residual, attention output dense.
	nn.LayerNormBackward(dRes, g.ln1w, g.ln1b, dLN1, a.res1[:n*H], a.ln1Mean[:n], a.ln1Rstd[:n], p.ln1w, n, H, ws.lnScratch)
	copy(dIn, dRes)
	nn.DropoutBackward(dRes, dRes, a.attnMask[:n*H], d.hidden)
	dCtx := dLN1
	if bf16 {
		nn.LinearBackwardRounded(dCtx, g.ow, g.ob, dRes, a.ctxR, w.o, n, H, H, false)
	} else {
		nn.LinearBackward(dCtx, g.ow, g.ob, dRes, a.ctx[:n*H], w.o, n, H, H, false)
	}

	// Attention core, per sequence and head, each on its own core.
	att := ws.attStart[B]
	probs, probsDrop, probsMask, dProbs := a.probs[:att], a.probsDrop[:att], a.probsMask[:att], ws.dProbs[:att]
	if d.attention <= 0 {
		probsDrop = probs
	}
	q, k, v := a.q[:n*H], a.k[:n*H], a.v[:n*H]
	qR, kR, vR, pR := a.rounded(d)
	dq, dk, dv := ws.dq[:n*H], ws.dk[:n*H], ws.dv[:n*H]
	scale := float32(1 / math.Sqrt(float64(hd)))
	nn.ParallelFor(B*nh, 10*att/(B*nh)*hd, func(lo, hi int) {
		for head := lo; head < hi; head++ {
			s, hh := head/nh, head%nh
			L := ws.seqLen[s]
			o, po := ws.seqStart[s]*H+hh*hd, ws.attStart[s]+hh*L*L
			dp := dProbs[po : po+L*L]
			// dP = dCtx·Vᵀ; dV = Pᵀ·dCtx
			nn.MatmulSerial(bf16, false, true, L, L, hd, 1, operand(dCtx, nil, o, H), operand(v, vR, o, H), 0, dp, L)
			nn.MatmulSerial(bf16, true, false, L, hd, L, 1, operand(probsDrop, pR, po, L), operand(dCtx, nil, o, H), 0, dv[o:], H)
			if d.attention > 0 {
				nn.DropoutBackwardAt(dp, dp, probsMask[po:po+L*L], d.attention)
			}
			nn.SoftmaxBackwardRows(dp, dp, probs[po:po+L*L], 0, L, L)
			// S = scale·Q·Kᵀ: dQ = scale·dS·K; dK = scale·dSᵀ·Q
			nn.MatmulSerial(bf16, false, false, L, hd, L, scale, operand(dp, nil, 0, L), operand(k, kR, o, H), 0, dq[o:], H)
			nn.MatmulSerial(bf16, true, false, L, hd, L, scale, operand(dp, nil, 0, L), operand(q, qR, o, H), 0, dk[o:], H)
		}
	})
	if bf16 {
		nn.LinearBackwardRounded(dIn, g.qw, g.qb, dq, a.inR, w.q, n, H, H, true)
		nn.LinearBackwardRounded(dIn, g.kw, g.kb, dk, a.inR, w.k, n, H, H, true)
		nn.LinearBackwardRounded(dIn, g.vw, g.vb, dv, a.inR, w.v, n, H, H, true)
	} else {
		nn.LinearBackward(dIn, g.qw, g.qb, dq, a.in, w.q, n, H, H, true)
		nn.LinearBackward(dIn, g.kw, g.kb, dk, a.in, w.k, n, H, H, true)
		nn.LinearBackward(dIn, g.vw, g.vb, dv, a.in, w.v, n, H, H, true)
	}
}

// addInto sets dst = x + y.
func addInto(dst, x, y []float32) {
	nn.ParallelFor(len(dst), 1, func(lo, hi int) {
		d, a, b := dst[lo:hi], x[lo:hi], y[lo:hi]
		for i := range d {
			d[i] = a[i] + b[i]
		}
	})
}
