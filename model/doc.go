// Package model is BERT and RoBERTa as HuggingFace transformers defines them
// (modeling_bert.py, modeling_roberta.py): embeddings, the encoder, and the
// sequence-classification, masked-LM and pre-training (masked-LM plus
// next-sentence) heads, with a hand-written backward pass next to every
// forward.
//
// # Memory layout
//
// All parameters of a model live in one []float32, Model.Data, and their
// gradients in a second one of the same length, Model.Grad. Tensors follow
// HuggingFace's state_dict order, and each tensor is stored row-major in
// PyTorch's shape (a Linear weight is out×in). Model.Tensors lists every
// tensor's name, shape and offset.
//
// Every encoder layer is one contiguous run of that buffer, in this order
// (names relative to "<prefix>.encoder.layer.<i>."):
//
//	attention.self.query.weight      H×H
//	attention.self.query.bias        H
//	attention.self.key.weight        H×H
//	attention.self.key.bias          H
//	attention.self.value.weight      H×H
//	attention.self.value.bias        H
//	attention.output.dense.weight    H×H
//	attention.output.dense.bias      H
//	attention.output.LayerNorm.weight H
//	attention.output.LayerNorm.bias  H
//	intermediate.dense.weight        I×H
//	intermediate.dense.bias          I
//	output.dense.weight              H×I
//	output.dense.bias                H
//	output.LayerNorm.weight          H
//	output.LayerNorm.bias            H
//
// That is 4H²+2HI+9H+I numbers: 7,087,872 for BERT-base (H=768, I=3072).
// Model.Layer(i) returns that run as a slice of Data — never a copy — so the
// subspace code can treat "layer i" as one flat vector and write through it.
//
// The activations a backward pass needs are kept in a Workspace, allocated
// once for the largest batch and reused every step.
//
// # Mixed precision
//
// SetBF16 makes every GEMM — each dense layer's, the masked-LM decoder's,
// and attention's per-head products, forward and backward — take bfloat16
// inputs and accumulate in float32, as PyTorch's CPU autocast does (through
// blas.GemmBF16, oneDNN). Data, Grad, the optimiser, LayerNorm, softmax,
// the activations and the losses stay float32, and so do the activations
// the backward keeps: each product rounds its activation operands as it
// runs. The GEMM weights are rounded once, into a copy beside Data (half
// their size), at the first Forward after ParamsChanged: whoever writes
// Data (an optimiser step, a checkpoint read) calls it.
package model
