package torchbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// machine runs the pickle virtual machine over an in-memory program, with
// none of Python's ability to call code: GLOBAL resolves only the names
// lookupGlobal allows, REDUCE applies only the three functions of call, and
// persistent ids go to a hook that returns storages.
type machine struct {
	in         []byte
	pos        int
	op         byte // the opcode being executed, for errors
	opPos      int
	stack      []any
	metastack  [][]any
	memo       map[int64]any
	persistent func(pid any) (any, error)
}

// unpickle runs the pickle that starts at in[0] and returns its value and
// the number of bytes it spans (several pickles can follow one another, as
// in the legacy format). persistent may be nil: a persistent id is then an
// error.
func unpickle(in []byte, persistent func(any) (any, error)) (any, int, error) {
	m := &machine{in: in, memo: map[int64]any{}, persistent: persistent}
	v, err := m.run()
	if err != nil {
		if m.op == 0 {
			return nil, 0, fmt.Errorf("pickle byte %d: %w", m.opPos, err)
		}
		return nil, 0, fmt.Errorf("pickle byte %d, opcode %s: %w", m.opPos, opName(m.op), err)
	}
	return v, m.pos, nil
}

// maxSteps bounds the opcodes one pickle may execute. Each allocates a
// bounded amount, so this bounds the memory a hostile pickle can claim
// (to about 150 MB, measured) whatever its size; a state dict takes about
// 40 steps per tensor, so this allows some 25,000 tensors.
const maxSteps = 1 << 20

func (m *machine) run() (any, error) {
	for steps := 0; ; steps++ {
		if steps == maxSteps {
			return nil, fmt.Errorf("%w: more than %d opcodes", ErrUnsupported, maxSteps)
		}
		m.opPos = m.pos
		m.op = 0
		op, err := m.byte()
		if err != nil {
			return nil, err
		}
		m.op = op
		if op == opStop {
			return m.pop()
		}
		if err := m.step(op); err != nil {
			return nil, err
		}
	}
}

// step executes one opcode. Opcodes that build objects of arbitrary
// classes (INST, OBJ, NEWOBJ, NEWOBJ_EX), the extension registry (EXT*),
// out-of-band buffers and the text forms a state dict never uses are
// refused: none is needed for a state dict, and refusing is safer than
// interpreting.
func (m *machine) step(op byte) error {
	switch op {
	case opProto:
		p, err := m.byte()
		if err == nil && p > 5 {
			err = fmt.Errorf("%w: unknown protocol %d", ErrInvalid, p)
		}
		return err
	case opFrame:
		// A framing hint for buffered readers; the whole program is in
		// memory, so only check that the frame is there.
		n, err := m.uint(8)
		if err == nil && n > uint64(len(m.in)-m.pos) {
			err = fmt.Errorf("%w: frame of %d bytes past the end", errTruncated, n)
		}
		return err
	case opMark:
		m.metastack = append(m.metastack, m.stack)
		m.stack = nil
		return nil
	case opPop:
		if len(m.stack) == 0 {
			_, err := m.popMark()
			return err
		}
		m.stack = m.stack[:len(m.stack)-1]
		return nil
	case opPopMark:
		_, err := m.popMark()
		return err
	case opDup:
		v, err := m.top()
		m.push(v)
		return err
	case opPut, opBinPut, opLongBinPut, opMemoize:
		return m.put(op)
	case opGet, opBinGet, opLongBinGet:
		return m.get(op)
	case opGlobal:
		return m.global()
	case opStackGlobal:
		return m.stackGlobal()
	case opReduce:
		return m.reduce()
	case opBuild:
		return m.build()
	case opBinPersID:
		return m.persistentID()
	case opInst:
		// INST instantiates a class named inline: name it if it is not
		// allowed, as for GLOBAL; refuse the opcode otherwise.
		if err := m.global(); err != nil {
			return err
		}
		return fmt.Errorf("%w: opcode not supported in a state dict", ErrUnsupported)
	}
	if v, ok, err := m.scalar(op); ok || err != nil {
		m.push(v)
		return err
	}
	if ok, err := m.container(op); ok || err != nil {
		return err
	}
	if _, known := opNames[op]; known {
		return fmt.Errorf("%w: opcode not supported in a state dict", ErrUnsupported)
	}
	return fmt.Errorf("%w: unknown opcode", ErrInvalid)
}

// scalar decodes the opcodes that push one immutable value; ok is false
// for any other opcode.
func (m *machine) scalar(op byte) (v any, ok bool, err error) {
	switch op {
	case opNone:
		return nil, true, nil
	case opNewTrue:
		return true, true, nil
	case opNewFalse:
		return false, true, nil
	case opBinInt:
		n, err := m.uint(4)
		return int64(int32(uint32(n))), true, err
	case opBinInt1:
		n, err := m.uint(1)
		return int64(n), true, err
	case opBinInt2:
		n, err := m.uint(2)
		return int64(n), true, err
	case opInt, opLong:
		v, err := m.textInt(op)
		return v, true, err
	case opLong1, opLong4:
		v, err := m.long(op)
		return v, true, err
	case opBinFloat:
		n, err := m.bytes(8)
		if err != nil {
			return nil, true, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(n)), true, nil
	case opShortBinUni, opBinUnicode, opBinUnicode8:
		b, err := m.counted(op)
		if err == nil && !utf8.Valid(b) {
			err = fmt.Errorf("%w: string is not valid UTF-8", ErrInvalid)
		}
		return string(b), true, err
	case opShortBinString, opBinString:
		// A Python 2 str, kept as its bytes (torch.load decodes it as
		// UTF-8 or ASCII; only its ASCII keys and locations matter here).
		b, err := m.counted(op)
		return string(b), true, err
	case opShortBinBytes, opBinBytes, opBinBytes8:
		b, err := m.counted(op)
		return append([]byte(nil), b...), true, err
	}
	return nil, false, nil
}

// container executes the opcodes that build or fill tuples, lists and
// dicts; ok is false for any other opcode.
func (m *machine) container(op byte) (ok bool, err error) {
	switch op {
	case opEmptyTuple:
		m.push(tuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(m.stack) < n {
			return true, fmt.Errorf("%w: stack underflow", ErrInvalid)
		}
		t := append(tuple{}, m.stack[len(m.stack)-n:]...)
		m.stack = m.stack[:len(m.stack)-n]
		m.push(t)
	case opTuple:
		items, err := m.popMark()
		m.push(tuple(items))
		return true, err
	case opEmptyList:
		m.push(&list{})
	case opList:
		items, err := m.popMark()
		m.push(&list{items: items})
		return true, err
	case opEmptyDict:
		m.push(newDict())
	case opDict:
		items, err := m.popMark()
		if err != nil {
			return true, err
		}
		d := newDict()
		m.push(d)
		return true, setItems(d, items)
	case opAppend, opAppends:
		return true, m.appends(op)
	case opSetItem, opSetItems:
		return true, m.setItems(op)
	default:
		return false, nil
	}
	return true, nil
}

func (m *machine) appends(op byte) error {
	var items []any
	if op == opAppend {
		v, err := m.pop()
		if err != nil {
			return err
		}
		items = []any{v}
	} else {
		var err error
		if items, err = m.popMark(); err != nil {
			return err
		}
	}
	top, err := m.top()
	if err != nil {
		return err
	}
	l, ok := top.(*list)
	if !ok {
		return fmt.Errorf("%w: append to a %s", ErrInvalid, typeName(top))
	}
	l.items = append(l.items, items...)
	return nil
}

func (m *machine) setItems(op byte) error {
	var items []any
	if op == opSetItem {
		if len(m.stack) < 2 {
			return fmt.Errorf("%w: stack underflow", ErrInvalid)
		}
		items = append(items, m.stack[len(m.stack)-2:]...)
		m.stack = m.stack[:len(m.stack)-2]
	} else {
		var err error
		if items, err = m.popMark(); err != nil {
			return err
		}
	}
	top, err := m.top()
	if err != nil {
		return err
	}
	d, ok := top.(*dict)
	if !ok {
		return fmt.Errorf("%w: set item of a %s", ErrInvalid, typeName(top))
	}
	return setItems(d, items)
}

func setItems(d *dict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("%w: odd number of dict items", ErrInvalid)
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (m *machine) put(op byte) error {
	var idx uint64
	var err error
	switch op {
	case opPut:
		idx, err = m.textIndex()
	case opBinPut:
		idx, err = m.uint(1)
	case opLongBinPut:
		idx, err = m.uint(4)
	case opMemoize:
		idx = uint64(len(m.memo))
	}
	if err != nil {
		return err
	}
	v, err := m.top()
	m.memo[int64(idx)] = v
	return err
}

func (m *machine) get(op byte) error {
	var idx uint64
	var err error
	switch op {
	case opGet:
		idx, err = m.textIndex()
	case opBinGet:
		idx, err = m.uint(1)
	case opLongBinGet:
		idx, err = m.uint(4)
	}
	if err != nil {
		return err
	}
	v, ok := m.memo[int64(idx)]
	if !ok {
		return fmt.Errorf("%w: memo entry %d was never stored", ErrInvalid, idx)
	}
	m.push(v)
	return nil
}

func (m *machine) global() error {
	module, err := m.line()
	if err != nil {
		return err
	}
	name, err := m.line()
	if err != nil {
		return err
	}
	g, err := lookupGlobal(module, name)
	m.push(g)
	return err
}

func (m *machine) stackGlobal() error {
	name, err1 := m.pop()
	module, err2 := m.pop()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	ms, ok1 := module.(string)
	ns, ok2 := name.(string)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: STACK_GLOBAL of a %s and a %s", ErrInvalid, typeName(module), typeName(name))
	}
	g, err := lookupGlobal(ms, ns)
	m.push(g)
	return err
}

func (m *machine) reduce() error {
	args, err1 := m.pop()
	fn, err2 := m.pop()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	g, ok := fn.(global)
	if !ok {
		return fmt.Errorf("%w: REDUCE calls a %s", ErrInvalid, typeName(fn))
	}
	t, ok := args.(tuple)
	if !ok {
		return fmt.Errorf("%w: REDUCE of %s with a %s of arguments", ErrInvalid, g, typeName(args))
	}
	v, err := call(g, t)
	m.push(v)
	return err
}

// build is BUILD: obj.__setstate__(state). The only object a state dict
// gives state to is its OrderedDict (the _metadata attribute recording
// module versions), which is dropped, as nothing here uses it.
func (m *machine) build() error {
	state, err := m.pop()
	if err != nil {
		return err
	}
	obj, err := m.top()
	if err != nil {
		return err
	}
	if _, ok := obj.(*dict); !ok {
		return fmt.Errorf("%w: BUILD of a %s", ErrInvalid, typeName(obj))
	}
	if _, ok := state.(*dict); !ok && state != nil {
		return fmt.Errorf("%w: BUILD of a dict with a %s", ErrInvalid, typeName(state))
	}
	return nil
}

func (m *machine) persistentID() error {
	pid, err := m.pop()
	if err != nil {
		return err
	}
	if m.persistent == nil {
		return fmt.Errorf("%w: unexpected persistent id", ErrInvalid)
	}
	v, err := m.persistent(pid)
	m.push(v)
	return err
}

func (m *machine) push(v any) { m.stack = append(m.stack, v) }

func (m *machine) pop() (any, error) {
	if len(m.stack) == 0 {
		return nil, fmt.Errorf("%w: stack underflow", ErrInvalid)
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	if len(m.stack) == 0 {
		return nil, fmt.Errorf("%w: stack underflow", ErrInvalid)
	}
	return m.stack[len(m.stack)-1], nil
}

func (m *machine) popMark() ([]any, error) {
	if len(m.metastack) == 0 {
		return nil, fmt.Errorf("%w: no MARK", ErrInvalid)
	}
	items := m.stack
	m.stack = m.metastack[len(m.metastack)-1]
	m.metastack = m.metastack[:len(m.metastack)-1]
	return items, nil
}
