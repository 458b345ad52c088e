package utf8line

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for valid
	}{
		{"plain ascii", ""},
		{"héllo wörld ✓", ""},
		{"h\xffi", "invalid UTF-8: byte 0xff at column 2"},
		{"héllo \xc3", "invalid UTF-8: byte 0xc3 at column 8"},   // é is two bytes: columns count bytes
		{"\xed\xa0\x80", "invalid UTF-8: byte 0xed at column 1"}, // a surrogate encoded as UTF-8
	} {
		got := ""
		if err := Check(tc.in); err != nil {
			got = err.Error()
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: %v does not wrap ErrInvalid", tc.in, err)
			}
		}
		if got != tc.want {
			t.Errorf("Check(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := CheckBytes([]byte(tc.in)); (err == nil) != (tc.want == "") {
			t.Errorf("CheckBytes(%q) = %v", tc.in, err)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`{"text": "a \u00e9 \ud83d\ude00 \\ud800 \"\ud800\udc00\""}`, ""},
		{`{"text": "\ufffd is a real character"}`, ""},
		{`{"text": "lone \ud800 high"}`, `invalid UTF-8: the escape \ud800 at column 16 is half of a UTF-16 surrogate pair`},
		{`{"text": "lone \uDC00 low"}`, `invalid UTF-8: the escape \uDC00 at column 16 is half of a UTF-16 surrogate pair`},
		{`{"text": "high at the end \ud83d"}`, `the escape \ud83d at column 27`},
		{`{"text": "two highs \ud83d\ud83d\ude00"}`, `the escape \ud83d at column 21`},
		{`{"text": "high then escape \ud83d\n"}`, `the escape \ud83d at column 28`},
		{"{\"text\": \"raw \xff\"}", "invalid UTF-8: byte 0xff at column 15"},
	} {
		got := ""
		if err := CheckJSON([]byte(tc.in)); err != nil {
			got = err.Error()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("CheckJSON(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReader(t *testing.T) {
	r := NewReader(strings.NewReader("a,b\nc,d\ne,\xfe\ng,h\n"))
	got, err := io.ReadAll(r)
	var e *Error
	if !errors.As(err, &e) || e.Line != 3 || e.Column != 3 || e.Byte != 0xfe {
		t.Fatalf("err = %#v, want line 3 column 3 byte 0xfe", err)
	}
	if string(got) != "a,b\nc,d\n" {
		t.Errorf("passed %q before the bad line", got)
	}
	if got, err := io.ReadAll(NewReader(strings.NewReader("ok\nno newline at the end"))); err != nil || string(got) != "ok\nno newline at the end" {
		t.Errorf("valid input: %q, %v", got, err)
	}
}
