package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// pk assembles pickles by hand, for the tests of what torch never writes.
// legacy makes storage ids with the legacy format's sixth field.
type pk struct {
	b      []byte
	legacy bool
}

func newPickle() *pk { return &pk{b: []byte{opProto, 2}} }

func (p *pk) op(b ...byte) *pk { p.b = append(p.b, b...); return p }

func (p *pk) str(s string) *pk {
	p.b = append(p.b, opBinUnicode)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}

func (p *pk) int(n int32) *pk {
	p.b = append(p.b, opBinInt)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(n))
	return p
}

func (p *pk) global(module, name string) *pk {
	return p.op(opGlobal).op([]byte(module + "\n" + name + "\n")...)
}

func (p *pk) ints(ns ...int32) *pk {
	p.op(opMark)
	for _, n := range ns {
		p.int(n)
	}
	return p.op(opTuple)
}

// tensor pushes _rebuild_tensor_v2(storage key of numel elements of
// storageType, offset, size, stride, False, OrderedDict()).
func (p *pk) tensor(storageType, key string, numel, offset int32, size, stride []int32) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op(opMark)
	p.op(opMark).str("storage").global("torch", storageType).str(key).str("cpu").int(numel)
	if p.legacy {
		p.op(opNone)
	}
	p.op(opTuple, opBinPersID)
	p.int(offset).ints(size...).ints(stride...).op(opNewFalse)
	p.global("collections", "OrderedDict").op(opEmptyTuple, opReduce)
	return p.op(opTuple, opReduce)
}

func (p *pk) stop() []byte { return append(p.b, opStop) }

// stateDict pickles {name: tensor} for one float32 tensor of the given
// view on storage "0" of numel elements.
func stateDict(legacy bool, name string, numel, offset int32, size, stride []int32) []byte {
	p := newPickle().op(opEmptyDict).str(name)
	p.legacy = legacy
	return p.tensor("FloatStorage", "0", numel, offset, size, stride).op(opSetItem).stop()
}

// zipFile lays out a torch zip archive: archive/data.pkl and
// archive/data/KEY entries, stored uncompressed as torch stores them, plus
// any extra entries.
func zipFile(t testing.TB, pkl []byte, storages map[string][]byte, extra map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if pkl != nil {
		add("archive/data.pkl", pkl)
	}
	for k, v := range storages {
		add("archive/data/"+k, v)
	}
	for k, v := range extra {
		add(k, v)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// legacyFile lays out the legacy stream: magic, protocol, system facts,
// the state dict pickle (whose storage ids must have six fields), the
// keys, and each storage as an element count and its bytes.
func legacyFile(state []byte, storages ...legacyStorage) []byte {
	b := append([]byte{opProto, 2, opLong1, 10}, legacyMagic...)
	b = append(b, opStop)
	b = append(b, newPickle().op(opBinInt2, 0xe9, 0x03).stop()...)
	b = append(b, newPickle().op(opEmptyDict).str("little_endian").op(opNewTrue, opSetItem).stop()...)
	b = append(b, state...)
	keys := newPickle().op(opEmptyList, opMark)
	for _, s := range storages {
		keys.str(s.key)
	}
	b = append(b, keys.op(opAppends).stop()...)
	for _, s := range storages {
		b = binary.LittleEndian.AppendUint64(b, uint64(s.count))
		b = append(b, s.data...)
	}
	return b
}

type legacyStorage struct {
	key   string
	count int64
	data  []byte
}

func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}
