// Package jsonnum holds the JSON form of numbers that may be NaN or
// infinite: a correlation of constant predictions, a diverged loss, a score
// a run never reported. JSON has no such numbers (Python writes a bare NaN,
// which is not JSON and which encoding/json refuses), so they are written
// as null, which any JSON reader accepts, and null reads back as NaN.
// Finite numbers are written as encoding/json writes a float64.
//
// Every file subtune writes uses this form: trainer_state.json and the
// metrics files, results.json, reproduce_run.json and outliers.json.
package jsonnum

import (
	"bytes"
	"encoding/json"
	"math"
)

var null = []byte("null")

// Float is a float64 whose NaN and ±Inf are written as null, and whose
// null reads as NaN.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return null, nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), null) {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Floats is a list of Float; nil is written as null.
type Floats []float64

// MarshalJSON implements json.Marshaler.
func (fs Floats) MarshalJSON() ([]byte, error) {
	if fs == nil {
		return null, nil
	}
	out := make([]Float, len(fs))
	for i, v := range fs {
		out[i] = Float(v)
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler.
func (fs *Floats) UnmarshalJSON(b []byte) error {
	var in []Float
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if in == nil {
		*fs = nil
		return nil
	}
	*fs = make(Floats, len(in))
	for i, v := range in {
		(*fs)[i] = float64(v)
	}
	return nil
}

// Map is a map of Float, written with sorted keys; nil is written as {}.
type Map map[string]float64

// MarshalJSON implements json.Marshaler.
func (m Map) MarshalJSON() ([]byte, error) {
	out := make(map[string]Float, len(m))
	for k, v := range m {
		out[k] = Float(v)
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler; null reads as an empty map.
func (m *Map) UnmarshalJSON(b []byte) error {
	var in map[string]Float
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*m = make(Map, len(in))
	for k, v := range in {
		(*m)[k] = float64(v)
	}
	return nil
}

// Finite returns x, or nil when x is NaN or ±Inf: for an optional field
// (with omitempty) that is left out rather than written as null when its
// value is not a number.
func Finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
