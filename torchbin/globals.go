package torchbin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/subtune/subtune/safetensors"
)

// ErrForbidden is wrapped by the error for a pickle naming a Python global
// outside the few a state dict needs; the error names the global.
var ErrForbidden = errors.New("global not allowed in a PyTorch state dict")

// ErrInvalid is wrapped by the errors for files that are not well-formed
// torch.save output: a malformed pickle, zip archive or storage.
var ErrInvalid = errors.New("invalid PyTorch checkpoint")

// errTruncated is a pickle running past the end of its input.
var errTruncated = fmt.Errorf("%w: truncated", ErrInvalid)

// ErrUnsupported is wrapped by the errors for valid PyTorch files this
// package does not read: other dtypes, TorchScript archives, big-endian
// files, storage views of torch < 1.0.
var ErrUnsupported = errors.New("unsupported PyTorch checkpoint")

// The globals a state dict saved by torch.save needs, and nothing more.
// They are matched by name and never resolved to code: REDUCE on one of
// the three callables runs the Go function in call below.
const (
	orderedDict     = "collections.OrderedDict"
	rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
	rebuildParam    = "torch._utils._rebuild_parameter"
)

// storageTypes maps the allowed storage classes to the dtype of their
// elements. LongStorage is there for the integer buffers older
// transformers versions saved (embeddings.position_ids): they can be read
// as bytes and converted, though not read as floats.
var storageTypes = map[string]safetensors.DType{
	"torch.FloatStorage":    safetensors.F32,
	"torch.HalfStorage":     safetensors.F16,
	"torch.BFloat16Storage": safetensors.BF16,
	"torch.LongStorage":     safetensors.I64,
}

// lookupGlobal returns the global module.name if it is allowed.
func lookupGlobal(module, name string) (global, error) {
	g := global{module, name}
	s := g.String()
	if s == orderedDict || s == rebuildTensorV2 || s == rebuildParam {
		return g, nil
	}
	if _, ok := storageTypes[s]; ok {
		return g, nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		return global{}, fmt.Errorf("%w: storage type %.100s: tensors must be float32, float16 or bfloat16", ErrUnsupported, s)
	}
	return global{}, fmt.Errorf("%w: %.200s", ErrForbidden, s)
}

// call applies an allowed global to its arguments, as REDUCE does.
func call(g global, args tuple) (any, error) {
	switch g.String() {
	case orderedDict:
		if len(args) != 0 {
			return nil, fmt.Errorf("%w: %s with %d arguments", ErrInvalid, g, len(args))
		}
		return newDict(), nil
	case rebuildTensorV2:
		return rebuildTensor(args)
	case rebuildParam:
		// _rebuild_parameter(data, requires_grad, backward_hooks): a
		// Parameter is its tensor.
		if len(args) != 3 {
			return nil, fmt.Errorf("%w: %s with %d arguments", ErrInvalid, g, len(args))
		}
		t, ok := args[0].(*tensor)
		if !ok {
			return nil, fmt.Errorf("%w: %s of a %s", ErrInvalid, g, typeName(args[0]))
		}
		return t, checkHooks(g, args[1], args[2])
	}
	return nil, fmt.Errorf("%w: %s cannot be called", ErrInvalid, g)
}

// checkHooks checks requires_grad and backward_hooks, the arguments a
// tensor rebuild ignores; hooks are functions, so there must be none.
func checkHooks(g global, requiresGrad, hooks any) error {
	if _, ok := requiresGrad.(bool); !ok {
		return fmt.Errorf("%w: %s with requires_grad a %s", ErrInvalid, g, typeName(requiresGrad))
	}
	if d, ok := hooks.(*dict); !ok || len(d.keys) != 0 {
		return fmt.Errorf("%w: %s with backward hooks %s", ErrInvalid, g, typeName(hooks))
	}
	return nil
}
