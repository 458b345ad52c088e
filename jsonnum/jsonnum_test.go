package jsonnum

import (
	"encoding/json"
	"math"
	"testing"
)

func TestFloatMarshal(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{3, "3"},
		{0.5, "0.5"},
		{2e-5, "0.00002"},
		{1e-7, "1e-7"},
		{1234567, "1234567"},
		{1e21, "1e+21"},
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
		{math.Inf(-1), "null"},
	} {
		got, err := json.Marshal(Float(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Float(%v): got %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestFloatUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    float64 // NaN: want NaN
		wantErr bool
	}{
		{"null", math.NaN(), false},
		{" null ", math.NaN(), false},
		{"0.25", 0.25, false},
		{"-1e-7", -1e-7, false},
		{`"1"`, 0, true},
		{"true", 0, true},
	} {
		var f Float
		err := json.Unmarshal([]byte(tc.in), &f)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		if got := float64(f); got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFloatsAndMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"nil floats", Floats(nil), "null"},
		{"empty floats", Floats{}, "[]"},
		{"floats", Floats{1, math.NaN(), 2.5}, "[1,null,2.5]"},
		{"nil map", Map(nil), "{}"},
		{"map sorted", Map{"b": math.Inf(1), "a": 0.125}, `{"a":0.125,"b":null}`},
	} {
		got, err := json.Marshal(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}

	var fs Floats
	if err := json.Unmarshal([]byte("[1,null]"), &fs); err != nil || len(fs) != 2 || fs[0] != 1 || !math.IsNaN(fs[1]) {
		t.Errorf("Floats: got %v, %v", fs, err)
	}
	var m Map
	if err := json.Unmarshal([]byte(`{"x":null,"y":-2}`), &m); err != nil || len(m) != 2 || !math.IsNaN(m["x"]) || m["y"] != -2 {
		t.Errorf("Map: got %v, %v", m, err)
	}
	if err := json.Unmarshal([]byte(`{"x":"a"}`), &m); err == nil {
		t.Errorf("Map of a string: no error")
	}
}

func TestFinite(t *testing.T) {
	if p := Finite(math.NaN()); p != nil {
		t.Errorf("Finite(NaN) = %v, want nil", *p)
	}
	if p := Finite(math.Inf(-1)); p != nil {
		t.Errorf("Finite(-Inf) = %v, want nil", *p)
	}
	if p := Finite(1.5); p == nil || *p != 1.5 {
		t.Errorf("Finite(1.5) = %v, want 1.5", p)
	}
}
