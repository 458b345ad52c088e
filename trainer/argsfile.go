package trainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ArgsFileKey normalises an argument name as HfArgumentParser accepts it:
// dashes for underscores, and evaluation_strategy, the older name of
// eval_strategy.
func ArgsFileKey(name string) string {
	name = strings.ReplaceAll(strings.TrimLeft(name, "-"), "-", "_")
	if name == "evaluation_strategy" {
		return "eval_strategy"
	}
	return name
}

// SetFromJSON sets the arguments named in a JSON object, as run_glue.py
// reads a JSON file in place of flags: keys are the run_glue names (Args'
// JSON tags). Keys for which skip returns true are left alone (the command
// line set them); null values are ignored. Unknown keys are an error, as
// in HfArgumentParser.parse_json_file; options subtune does not support
// (UnsupportedArgs) are named with the reason, unless their value asks for
// what subtune does anyway.
func (a *Args) SetFromJSON(data []byte, skip func(key string) bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	fields := map[string]reflect.Value{}
	v := reflect.ValueOf(a).Elem()
	for i := 0; i < v.NumField(); i++ {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); tag != "" {
			fields[tag] = v.Field(i)
		}
	}
	var unknown []string
	for key, val := range raw {
		name := ArgsFileKey(key)
		f, ok := fields[name]
		if u, found := unsupportedArg(name); !ok && found {
			if err := u.Check(jsonText(val)); err != nil {
				return fmt.Errorf("%q: %s: %w", key, val, err)
			}
			continue
		}
		if !ok {
			unknown = append(unknown, key)
			continue
		}
		if string(val) == "null" || (skip != nil && skip(name)) {
			continue
		}
		// Python writes integral floats as 3.0; a Go int field wants 3.
		if f.Kind() == reflect.Int {
			var x float64
			if err := json.Unmarshal(val, &x); err == nil && x == float64(int(x)) {
				f.SetInt(int64(x))
				continue
			}
		}
		if err := json.Unmarshal(val, f.Addr().Interface()); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("unknown arguments: %s", strings.Join(unknown, ", "))
	}
	if _, ok := raw["eval_steps"]; ok && (skip == nil || !skip("eval_strategy")) {
		if _, set := raw["eval_strategy"]; !set {
			if _, set := raw["evaluation_strategy"]; !set {
				a.EvalStrategy = "steps"
			}
		}
	}
	return nil
}

// jsonText is a JSON scalar as it would be typed on a command line.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// ParseBool reads a boolean as HfArgumentParser's string_to_bool does:
// yes, true, t, y, 1 and no, false, f, n, 0, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "t", "y", "1":
		return true, nil
	case "no", "false", "f", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean: want true or false (or yes, no, t, f, y, n, 1, 0)", s)
}
