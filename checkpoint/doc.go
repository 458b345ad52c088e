// Package checkpoint reads and writes HuggingFace model folders —
// config.json plus model.safetensors, or a sharded checkpoint indexed by
// model.safetensors.index.json — into and out of subtune's models, the way
// transformers' from_pretrained and save_pretrained do. Folders with
// PyTorch weights only (pytorch_model.bin, or shards indexed by
// pytorch_model.bin.index.json) are read too, through package torchbin,
// and Convert turns them into safetensors folders. Package hfhub fetches
// such folders from the HuggingFace hub.
package checkpoint
