// Package torchbin reads PyTorch state dicts saved by torch.save — the
// pytorch_model.bin of HuggingFace model folders — without Python and
// without ever running code named by the file.
//
// # Formats
//
// Both formats torch.save writes are read:
//
//   - the zip archive of torch 1.6 and later: ARCHIVE/data.pkl, the pickled
//     state dict, and one uncompressed entry ARCHIVE/data/KEY per storage
//     (plus ARCHIVE/byteorder since torch 2.1, which must say "little");
//   - the legacy stream (torch < 1.6, or _use_new_zipfile_serialization=False):
//     pickles of the magic number, the protocol version 1001, a dict of
//     system facts, the state dict and the sorted storage keys, then each
//     storage as a little-endian int64 element count and its elements.
//
// Tensors are what torch._utils._rebuild_tensor_v2 makes of a storage, an
// offset, a size and a stride (nn.Parameter values pass through
// torch._utils._rebuild_parameter). Strided views — transposed weights,
// slices, several tensors sharing one storage — are materialised in
// row-major order, as tensor.contiguous() would. Storages hold float32,
// float16 or bfloat16 weights, or int64 (the position_ids buffer older
// transformers versions saved), which can be read as bytes but not as
// weights. Sharded checkpoints (pytorch_model.bin.index.json) are
// several Files; the index is read by the model loader, as for safetensors.
//
// # Security
//
// A pickle is a program: GLOBAL names any Python callable and REDUCE calls
// it, so torch.load of a hostile file runs arbitrary code. This package
// interprets pickles with a restricted machine that cannot call anything.
// GLOBAL (and STACK_GLOBAL) accept exactly these names:
//
//	collections.OrderedDict             the state dict and backward_hooks
//	torch._utils._rebuild_tensor_v2     a tensor from (storage, offset, size, stride, ...)
//	torch._utils._rebuild_parameter     an nn.Parameter around a tensor
//	torch.FloatStorage, torch.HalfStorage, torch.BFloat16Storage, torch.LongStorage
//
// Any other global is refused with an error naming it (module.name) and
// wrapping ErrForbidden — os.system, which pickles as posix.system,
// builtins.eval, torch._tensor._rebuild_from_type_v2 (tensor subclasses),
// torch.storage._load_from_bytes (storages pickled outside torch.save), and
// so on. REDUCE applies only the three callables, each to checked
// arguments; BUILD only sets the state dict's _metadata, which is dropped.
// The opcodes that instantiate classes (INST, OBJ, NEWOBJ, NEWOBJ_EX), the
// extension registry (EXT1/2/4), out-of-band buffers and the text-only
// opcodes of protocol 0 are refused. Protocols 1 to 5 are read.
//
// A hostile file cannot crash the reader, hang it or make it allocate
// much more than the file's size: the pickle is read into memory only up
// to MaxPickleSize, every length in it is checked against the bytes left
// before anything is allocated, the machine consumes at least one byte per
// step and runs at most a few million steps, nothing recurses over the
// unpickled objects, storages must lie
// inside the file with the size the pickle declares, and a tensor must lie
// inside its storage with no more elements than it (so expanded views,
// stride 0 over a large size, are refused). FuzzOpen and FuzzUnpickle
// check this.
//
// Errors name the file and, where one is involved, the tensor or the
// global; match them with errors.Is against ErrInvalid, ErrUnsupported and
// ErrForbidden.
package torchbin
