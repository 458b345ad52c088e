package torchbin

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
)

// Reading the program. Every length is checked against what is left of
// the input before anything is allocated, so a hostile length costs
// nothing.

func (m *machine) byte() (byte, error) {
	if m.pos >= len(m.in) {
		return 0, fmt.Errorf("%w (no STOP)", errTruncated)
	}
	m.pos++
	return m.in[m.pos-1], nil
}

func (m *machine) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(m.in)-m.pos) {
		return nil, fmt.Errorf("%w: %d bytes needed, %d left", errTruncated, n, len(m.in)-m.pos)
	}
	b := m.in[m.pos : m.pos+int(n)]
	m.pos += int(n)
	return b, nil
}

// uint reads an n-byte little-endian unsigned integer.
func (m *machine) uint(n int) (uint64, error) {
	b, err := m.bytes(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// counted reads the length-prefixed payload of a string or bytes opcode.
func (m *machine) counted(op byte) ([]byte, error) {
	width := 4
	switch op {
	case opShortBinUni, opShortBinString, opShortBinBytes:
		width = 1
	case opBinUnicode8, opBinBytes8:
		width = 8
	}
	n, err := m.uint(width)
	if err != nil {
		return nil, err
	}
	if op == opBinString && n > math.MaxInt32 {
		return nil, fmt.Errorf("%w: negative length", ErrInvalid)
	}
	return m.bytes(n)
}

// line reads up to a newline (GLOBAL and the text opcodes).
func (m *machine) line() (string, error) {
	for i := m.pos; i < len(m.in); i++ {
		if m.in[i] == '\n' {
			s := string(m.in[m.pos:i])
			m.pos = i + 1
			return s, nil
		}
	}
	return "", fmt.Errorf("%w: line without a newline", errTruncated)
}

// textIndex decodes the memo index of the text forms of PUT and GET.
func (m *machine) textIndex() (uint64, error) {
	s, err := m.line()
	if err != nil {
		return 0, err
	}
	idx, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%w: memo index %.40q", ErrInvalid, s)
	}
	return idx, nil
}

// textInt decodes INT and LONG, the text integers of protocols 0 and 1;
// "I01" and "I00" are True and False. A positive integer beyond int64
// (the legacy magic number, in protocol 1) becomes a bigInt; longer ones,
// whose parsing would cost more than they are worth, are refused.
func (m *machine) textInt(op byte) (any, error) {
	s, err := m.line()
	if err != nil {
		return nil, err
	}
	if op == opInt && (s == "01" || s == "00") {
		return s == "01", nil
	}
	if op == opLong && len(s) > 0 && s[len(s)-1] == 'L' {
		s = s[:len(s)-1]
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	var b big.Int
	if len(s) > 40 || s == "" || s[0] < '0' || s[0] > '9' {
		return nil, fmt.Errorf("%w: integer %.40q", ErrInvalid, s)
	}
	if _, ok := b.SetString(s, 10); !ok {
		return nil, fmt.Errorf("%w: integer %.40q", ErrInvalid, s)
	}
	// As LONG1 would store it: little-endian two's complement, with a
	// zero byte if the top bit is set.
	le := slices.Clone(b.Bytes())
	slices.Reverse(le)
	if le[len(le)-1]&0x80 != 0 {
		le = append(le, 0)
	}
	return bigInt(le), nil
}

// long decodes LONG1 and LONG4: a little-endian two's-complement integer
// of the given byte length, an int64 when it fits.
func (m *machine) long(op byte) (any, error) {
	width := 1
	if op == opLong4 {
		width = 4
	}
	n, err := m.uint(width)
	if err != nil {
		return nil, err
	}
	if op == opLong4 && n > math.MaxInt32 {
		return nil, fmt.Errorf("%w: negative length", ErrInvalid)
	}
	b, err := m.bytes(n)
	if err != nil {
		return nil, err
	}
	if len(b) > 8 {
		return bigInt(b), nil
	}
	var v int64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | int64(b[i])
	}
	if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
		v -= 1 << (8 * len(b)) // sign-extend
	}
	return v, nil
}
