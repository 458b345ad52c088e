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
// in HfArgumentParser.parse_json_file.
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
		if tag := v.Type().Field(i).Tag.Get("json"); tag != "" {
			fields[tag] = v.Field(i)
		}
	}
	var unknown []string
	for key, val := range raw {
		name := ArgsFileKey(key)
		f, ok := fields[name]
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
