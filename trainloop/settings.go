package trainloop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Settings are what a run's weights depend on, by the names its user knows
// them by: the options that change them ("--learning_rate") and facts of
// its inputs ("train examples"). A checkpoint records them in SettingsFile,
// and a run resumed from it must have the same (CheckResume).
type Settings map[string]string

// SettingsFile holds a checkpoint's Settings.
const SettingsFile = "settings.json"

// checkSettings compares the settings recorded in the checkpoint dir with
// now, those of the run resuming from it.
func checkSettings(dir string, now Settings) error {
	path := filepath.Join(dir, SettingsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s records no %s (an older subtune wrote it), so whether this run's options match cannot be told; finish the run with the subtune that started it, or start again", dir, SettingsFile)
	}
	if err != nil {
		return err
	}
	var saved Settings
	if err := json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return CheckResume(dir, saved, now)
}

// FlagSettings returns the options held in the struct v (or a pointer to
// it) whose JSON tags are flag names, as Args' are: every field except
// those tagged `json:"-"` and those tagged `resume:"free"`, which cannot
// change the weights (logging, evaluation, output, threads). Fields tagged
// `resume:"ifset"` are left out while they hold their zero value: options
// added after checkpoints were written, which those checkpoints lack.
func FlagSettings(v any) Settings {
	rv := reflect.Indirect(reflect.ValueOf(v))
	s := Settings{}
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		tag := f.Tag.Get("resume")
		if !f.IsExported() || name == "" || name == "-" || tag == "free" || (tag == "ifset" && rv.Field(i).IsZero()) {
			continue
		}
		s["--"+name] = formatSetting(rv.Field(i))
	}
	return s
}

func formatSetting(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return formatSetting(v.Elem())
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatSetting(v.Index(i))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}

// CheckResume compares the settings recorded in the checkpoint dir with
// those of the run about to resume from it. Every difference is named in
// the error, with the recorded value and the new one.
func CheckResume(dir string, saved, now Settings) error {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(union(saved, now))) {
		old, hadOld := saved[k]
		cur, hasCur := now[k]
		if hadOld == hasCur && old == cur {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s %s (now %s)", k, showSetting(old, hadOld), showSetting(cur, hasCur)))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%s was saved by a run with other settings: %s; a resumed run must use the values it started with "+
		"(only options that cannot change the weights, such as logging, evaluation and --threads, may differ)", dir, strings.Join(diffs, ", "))
}

func union(a, b Settings) Settings {
	u := maps.Clone(a)
	if u == nil {
		u = Settings{}
	}
	maps.Copy(u, b)
	return u
}

func showSetting(v string, ok bool) string {
	switch {
	case !ok:
		return "not given"
	case v == "":
		return `""`
	}
	return v
}
