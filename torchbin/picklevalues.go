package torchbin

import "fmt"

// The values a pickle builds. Everything is plain data except global (an
// allowed name, never resolved to code), *storage and *tensor, which only
// the allowed globals and the persistent-id hook produce.
type (
	tuple  []any
	list   struct{ items []any }
	global struct{ module, name string }
	// bigInt is an integer too wide for int64, as its little-endian
	// two's-complement bytes (the legacy magic number is one).
	bigInt string
	// dict is a Python dict or OrderedDict; insertion order is kept.
	dict struct {
		keys []any
		vals map[any]any
	}
)

func newDict() *dict { return &dict{vals: map[any]any{}} }

func (d *dict) set(k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64, bigInt:
	default:
		return fmt.Errorf("%w: dict key of type %s", ErrUnsupported, typeName(k))
	}
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
	return nil
}

func (g global) String() string { return g.module + "." + g.name }

// typeName names a pickled value's Python type for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, bigInt:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case tuple:
		return "tuple"
	case *list:
		return "list"
	case *dict:
		return "dict"
	case global:
		return v.String()
	case *storage:
		return "storage"
	case *tensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
