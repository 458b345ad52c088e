package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// tinyConfig is a BERT (or RoBERTa) small enough that every test builds
// and saves one in a millisecond. It is not testmodel.Tiny, which saves
// through this package (an import cycle) and is BERT only.
func tinyConfig(modelType string) model.Config {
	c := model.DefaultConfig(modelType)
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 40, 8, 2, 2, 12
	c.MaxPositionEmbeddings = 16
	if modelType == "roberta" {
		c.MaxPositionEmbeddings = 18
	}
	c.SetLabels([]string{"neg", "neu", "pos"})
	return c
}

func tinyModel(t *testing.T, head model.Head, seed uint64) *model.Model {
	t.Helper()
	return tinyModelOf(t, tinyConfig("bert"), head, seed)
}

func tinyModelOf(t *testing.T, c model.Config, head model.Head, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(c, head)
	must(t, err)
	m.Init(seed)
	// Init leaves biases at zero and LayerNorm weights at one; fill every
	// tensor so that a tensor loaded into the wrong place shows.
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range m.Data {
		m.Data[i] += float32(rng.NormFloat64() * 0.01)
	}
	return m
}

// savedTiny saves a tiny classifier into a fresh folder.
func savedTiny(t *testing.T) (string, *model.Model) {
	t.Helper()
	dir := t.TempDir()
	m := tinyModel(t, model.SequenceClassification, 1)
	must(t, Save(dir, m, ""))
	return dir, m
}

// loadErr runs Load and fails the test on a panic or a success; it
// returns the error.
func loadErr(t *testing.T, dir string, head model.Head) error {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Load panicked: %v", r)
			}
		}()
		_, _, err = Load(dir, head, Options{})
	}()
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	return err
}

func wantInError(t *testing.T, err error, parts ...string) {
	t.Helper()
	t.Log(err)
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// rawFile splits a safetensors file into its header entries and data.
type headerEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

func readRaw(t *testing.T, path string) (map[string]*headerEntry, json.RawMessage, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	n := binary.LittleEndian.Uint64(b)
	var raw map[string]json.RawMessage
	must(t, json.Unmarshal(b[8:8+n], &raw))
	entries := map[string]*headerEntry{}
	var meta json.RawMessage
	for k, v := range raw {
		if k == "__metadata__" {
			meta = v
			continue
		}
		var e headerEntry
		must(t, json.Unmarshal(v, &e))
		entries[k] = &e
	}
	return entries, meta, b[8+n:]
}

func writeRaw(t *testing.T, path string, entries map[string]*headerEntry, meta json.RawMessage, data []byte) {
	t.Helper()
	all := map[string]any{}
	for k, v := range entries {
		all[k] = v
	}
	if meta != nil {
		all["__metadata__"] = meta
	}
	h, err := json.Marshal(all)
	must(t, err)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	must(t, os.WriteFile(path, out, 0o644))
}

// byOffset lists tensor names in data order.
func byOffset(entries map[string]*headerEntry) []string {
	names := make([]string, 0, len(entries))
	for k := range entries {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return entries[names[i]].Offsets[0] < entries[names[j]].Offsets[0] })
	return names
}

func TestLoadTruncatedFile(t *testing.T) {
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	full, err := os.ReadFile(path)
	must(t, err)
	n := int(binary.LittleEndian.Uint64(full))

	// Cut in the data: the tensors past the cut are named.
	must(t, os.WriteFile(path, full[:8+n+(len(full)-8-n)/2], 0o644))
	err = loadErr(t, dir, model.SequenceClassification)
	wantInError(t, err, path, "tensor ", "past the end")
	if !errors.Is(err, safetensors.ErrInvalid) {
		t.Errorf("error %v is not safetensors.ErrInvalid", err)
	}

	// Cut in the header, and shorter than the size field.
	for _, size := range []int{8 + n/2, 5, 0} {
		must(t, os.WriteFile(path, full[:size], 0o644))
		wantInError(t, loadErr(t, dir, model.SequenceClassification), path)
	}
}

func TestLoadHeaderLengthBeyondFile(t *testing.T) {
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	b, err := os.ReadFile(path)
	must(t, err)
	for _, n := range []uint64{uint64(len(b)), 1 << 40, math.MaxUint64} {
		binary.LittleEndian.PutUint64(b, n)
		must(t, os.WriteFile(path, b, 0o644))
		err := loadErr(t, dir, model.SequenceClassification)
		wantInError(t, err, path, "header size")
	}
}

func TestLoadOffsetsOutOfRange(t *testing.T) {
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	entries, meta, data := readRaw(t, path)
	order := byOffset(entries)
	last := order[len(order)-1]
	e := entries[last]
	e.Offsets[0] += int64(len(data))
	e.Offsets[1] += int64(len(data))
	writeRaw(t, path, entries, meta, data)
	wantInError(t, loadErr(t, dir, model.SequenceClassification), path, fmt.Sprintf("%q", last), "past the end")

	// An end before the begin.
	entries, meta, data = readRaw(t, path)
	entries[last].Offsets = [2]int64{8, 4}
	writeRaw(t, path, entries, meta, data)
	wantInError(t, loadErr(t, dir, model.SequenceClassification), path, fmt.Sprintf("%q", last))
}

func TestLoadOverlappingOffsets(t *testing.T) {
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	entries, meta, data := readRaw(t, path)
	order := byOffset(entries)
	last := order[len(order)-1]
	entries[last].Offsets[0] -= 4
	entries[last].Offsets[1] -= 4
	writeRaw(t, path, entries, meta, data)
	err := loadErr(t, dir, model.SequenceClassification)
	wantInError(t, err, path, fmt.Sprintf("%q", last), "overlap", order[len(order)-2])
}

func TestLoadShapeMismatch(t *testing.T) {
	// The file's shape disagrees with the config's.
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	entries, meta, data := readRaw(t, path)
	const name = "bert.encoder.layer.1.intermediate.dense.weight"
	entries[name].Shape = []int{8, 12} // same bytes, transposed: config implies [12 8]
	writeRaw(t, path, entries, meta, data)
	wantInError(t, loadErr(t, dir, model.SequenceClassification), path, name, "[8 12]", "[12 8]")

	// The config disagrees with the file: a fine-tuning run asking for
	// two labels of a three-label checkpoint.
	dir, _ = savedTiny(t)
	_, _, err := Load(dir, model.SequenceClassification, Options{Labels: []string{"a", "b"}})
	if err == nil {
		t.Fatal("loading 3 labels as 2 succeeded")
	}
	wantInError(t, err, filepath.Join(dir, "model.safetensors"), "tensor classifier.bias has shape [3]", "config implies [2]")

	// hidden_size changed in config.json: every tensor disagrees.
	dir, _ = savedTiny(t)
	editConfig(t, dir, func(c map[string]any) { c["intermediate_size"] = 10 })
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "intermediate.dense", "config implies")
}

func TestLoadDTypeMismatch(t *testing.T) {
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	entries, meta, data := readRaw(t, path)
	const name = "bert.embeddings.LayerNorm.weight"
	entries[name].DType = "I32" // same width as F32, so the header stays valid
	writeRaw(t, path, entries, meta, data)
	err := loadErr(t, dir, model.SequenceClassification)
	wantInError(t, err, path, name, "I32")
	if !errors.Is(err, safetensors.ErrDType) {
		t.Errorf("error %v is not safetensors.ErrDType", err)
	}
}

func TestLoadNonFinite(t *testing.T) {
	for _, c := range []struct {
		dtype safetensors.DType
		value float32
	}{
		{safetensors.F32, float32(math.NaN())},
		{safetensors.F32, float32(math.Inf(-1))},
		{safetensors.BF16, float32(math.NaN())},
		{safetensors.F16, 1e6}, // overflows F16 to +Inf
	} {
		t.Run(fmt.Sprintf("%s_%v", c.dtype, c.value), func(t *testing.T) {
			dir := t.TempDir()
			m := tinyModel(t, model.SequenceClassification, 1)
			const name = "bert.encoder.layer.1.attention.self.key.weight"
			w, _ := m.Tensor(name)
			w[5] = c.value
			must(t, Save(dir, m, c.dtype))
			err := loadErr(t, dir, model.SequenceClassification)
			wantInError(t, err, filepath.Join(dir, "model.safetensors"), name, "element 5")
			if !errors.Is(err, safetensors.ErrNonFinite) {
				t.Errorf("error %v is not safetensors.ErrNonFinite", err)
			}
		})
	}
}

func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	must(t, err)
	var c map[string]any
	must(t, json.Unmarshal(b, &c))
	edit(c)
	b, err = json.MarshalIndent(c, "", "  ")
	must(t, err)
	must(t, os.WriteFile(path, b, 0o644))
}

func TestLoadMissingConfigKeys(t *testing.T) {
	dir, _ := savedTiny(t)
	editConfig(t, dir, func(c map[string]any) {
		delete(c, "hidden_size")
		delete(c, "num_attention_heads")
	})
	err := loadErr(t, dir, model.SequenceClassification)
	wantInError(t, err, filepath.Join(dir, "config.json"), "missing required keys", "hidden_size", "num_attention_heads")

	// Not JSON at all, and no config.
	must(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte("{\"hidden_size\": 8,"), 0o644))
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "config.json", "invalid JSON")
	must(t, os.Remove(filepath.Join(dir, "config.json")))
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "config.json")

	// A value of the wrong type names its key.
	dir, _ = savedTiny(t)
	editConfig(t, dir, func(c map[string]any) { c["num_hidden_layers"] = "two" })
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "config.json", "num_hidden_layers")
}

func TestLoadUnknownConfigKeys(t *testing.T) {
	dir, src := savedTiny(t)
	editConfig(t, dir, func(c map[string]any) {
		c["my_experiment_flag"] = true
		c["transformers_version"] = "4.40.0" // written by transformers: kept quietly
	})
	m, rep, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], `"my_experiment_flag"`) {
		t.Errorf("warnings %q, want one naming my_experiment_flag", rep.Warnings)
	}
	if !strings.Contains(rep.String(), "warning: ") || !strings.Contains(rep.String(), "my_experiment_flag") {
		t.Errorf("report %q", rep.String())
	}
	// The key survives a save.
	out := t.TempDir()
	must(t, Save(out, m, ""))
	b, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !bytes.Contains(b, []byte(`"my_experiment_flag": true`)) {
		t.Errorf("unknown key lost on save:\n%s", b)
	}
}

func TestLoadNoWeights(t *testing.T) {
	dir, _ := savedTiny(t)
	must(t, os.Remove(filepath.Join(dir, "model.safetensors")))
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "no model.safetensors", "pytorch_model.bin")
	must(t, os.WriteFile(filepath.Join(dir, "tf_model.h5"), nil, 0o644))
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "holds only tf_model.h5", "save_pretrained(")
}

// writeShards splits dir/model.safetensors into two shards and an index,
// as save_pretrained(max_shard_size=...) does, and removes the single file.
func writeShards(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	tensors, meta, err := safetensors.ReadFile(path)
	must(t, err)
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	shards := []map[string]safetensors.Tensor{{}, {}}
	files := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	weightMap := map[string]string{}
	total := 0
	for i, n := range names {
		k := 0
		if i >= len(names)/2 {
			k = 1
		}
		shards[k][n] = tensors[n]
		weightMap[n] = files[k]
		total += len(tensors[n].F32) * 4
	}
	for k := range shards {
		must(t, safetensors.Write(filepath.Join(dir, files[k]), shards[k], meta))
	}
	index, err := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}, "", "  ")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), index, 0o644))
	must(t, os.Remove(path))
}

func TestLoadSharded(t *testing.T) {
	dir, src := savedTiny(t)
	writeShards(t, dir)
	m, rep, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)
	if len(rep.Missing)+len(rep.Unexpected)+len(rep.Warnings) != 0 {
		t.Errorf("report %+v", rep)
	}

	// A shard the index names but the folder lacks.
	must(t, os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors")))
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "model-00002-of-00002.safetensors")

	// An index that is not JSON.
	must(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte("{"), 0o644))
	wantInError(t, loadErr(t, dir, model.SequenceClassification), "model.safetensors.index.json", "invalid JSON")
}

// renameTensors rewrites dir/model.safetensors with every name mapped.
func renameTensors(t *testing.T, dir string, rename func(string) string) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	tensors, meta, err := safetensors.ReadFile(path)
	must(t, err)
	out := map[string]safetensors.Tensor{}
	for n, x := range tensors {
		if nn := rename(n); nn != "" {
			out[nn] = x
		}
	}
	must(t, safetensors.Write(path, out, meta))
}

func TestLoadBareAndLegacyNames(t *testing.T) {
	for _, mt := range []string{"bert", "roberta"} {
		t.Run(mt, func(t *testing.T) {
			dir := t.TempDir()
			src := tinyModelOf(t, tinyConfig(mt), model.SequenceClassification, 3)
			must(t, Save(dir, src, ""))
			renameTensors(t, dir, func(n string) string {
				n = strings.TrimPrefix(n, mt+".")
				n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
				return strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
			})
			// The renaming really happened.
			f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
			must(t, err)
			if _, ok := f.Info("embeddings.LayerNorm.gamma"); !ok {
				t.Fatalf("renamed file lacks embeddings.LayerNorm.gamma: %v", f.Names())
			}
			f.Close()
			m, rep, err := Load(dir, model.SequenceClassification, Options{})
			must(t, err)
			sameData(t, m, src)
			if len(rep.Missing)+len(rep.Unexpected) != 0 {
				t.Errorf("missing %v unexpected %v", rep.Missing, rep.Unexpected)
			}
		})
	}
}

func TestLoadHalfPrecision(t *testing.T) {
	for _, c := range []struct {
		dtype safetensors.DType
		round func(float32) float32
	}{
		{safetensors.F16, func(x float32) float32 { return safetensors.F16ToF32(safetensors.F32ToF16(x)) }},
		{safetensors.BF16, func(x float32) float32 { return safetensors.BF16ToF32(safetensors.F32ToBF16(x)) }},
	} {
		t.Run(string(c.dtype), func(t *testing.T) {
			dir := t.TempDir()
			src := tinyModel(t, model.SequenceClassification, 4)
			must(t, Save(dir, src, c.dtype))
			f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
			must(t, err)
			for _, n := range f.Names() {
				if info, _ := f.Info(n); info.DType != c.dtype {
					t.Fatalf("%s stored as %s", n, info.DType)
				}
			}
			f.Close()
			m, _, err := Load(dir, model.SequenceClassification, Options{})
			must(t, err)
			changed := 0
			for i, x := range src.Data {
				if want := c.round(x); m.Data[i] != want {
					t.Fatalf("parameter %d = %v, want %v (%v rounded to %s)", i, m.Data[i], want, x, c.dtype)
				}
				if m.Data[i] != x {
					changed++
				}
			}
			if changed == 0 {
				t.Error("no value was rounded; the test proves nothing")
			}
		})
	}
}

func TestLoadMissingClassifier(t *testing.T) {
	dir, src := savedTiny(t)
	renameTensors(t, dir, func(n string) string {
		if strings.HasPrefix(n, "classifier.") {
			return ""
		}
		return n
	})
	m, rep, err := Load(dir, model.SequenceClassification, Options{Seed: 5})
	must(t, err)
	if want := []string{"classifier.weight", "classifier.bias"}; !slices.Equal(rep.Missing, want) {
		t.Errorf("missing %v, want %v", rep.Missing, want)
	}
	want := "Some weights of BertForSequenceClassification were not initialized from the model checkpoint at " + dir +
		" and are newly initialized: ['classifier.bias', 'classifier.weight']\n" +
		"You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference."
	if !slices.Contains(rep.Warnings, want) {
		t.Errorf("warnings %q\nwant %q", rep.Warnings, want)
	}
	if !strings.Contains(rep.String(), "newly initialized") {
		t.Errorf("String() = %q", rep.String())
	}
	// Everything else is the checkpoint's; the classifier is fresh: weights
	// from N(0, 0.02²), bias zero, the same for the same seed.
	for _, tt := range m.Tensors {
		got, _ := m.Tensor(tt.Name)
		old, _ := src.Tensor(tt.Name)
		switch tt.Name {
		case "classifier.weight":
			var ss float64
			for _, v := range got {
				ss += float64(v) * float64(v)
			}
			if std := math.Sqrt(ss / float64(len(got))); std < 0.005 || std > 0.05 {
				t.Errorf("new classifier weight std %v, want about 0.02", std)
			}
		case "classifier.bias":
			for _, v := range got {
				if v != 0 {
					t.Errorf("new classifier bias %v, want 0", got)
					break
				}
			}
		default:
			if !slices.Equal(got, old) {
				t.Errorf("%s changed", tt.Name)
			}
		}
	}
	m2, _, err := Load(dir, model.SequenceClassification, Options{Seed: 5})
	must(t, err)
	sameData(t, m2, m)
	m3, _, err := Load(dir, model.SequenceClassification, Options{Seed: 6})
	must(t, err)
	w, _ := m.Tensor("classifier.weight")
	w3, _ := m3.Tensor("classifier.weight")
	if slices.Equal(w, w3) {
		t.Error("another seed gave the same classifier")
	}
}

func TestLoadReportsUnusedWeights(t *testing.T) {
	// A pre-trained masked-LM checkpoint loaded for classification, as
	// fine-tuning from bert-base-uncased does.
	dir := t.TempDir()
	must(t, Save(dir, tinyModel(t, model.MaskedLM, 2), ""))
	_, rep, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	wantMissing := []string{"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}
	if !slices.Equal(rep.Missing, wantMissing) {
		t.Errorf("missing %v, want %v", rep.Missing, wantMissing)
	}
	if len(rep.Unexpected) == 0 || !slices.Contains(rep.Unexpected, "cls.predictions.bias") {
		t.Errorf("unexpected %v", rep.Unexpected)
	}
	found := false
	for _, w := range rep.Warnings {
		if strings.HasPrefix(w, "Some weights of the model checkpoint at "+dir+" were not used when initializing BertForSequenceClassification: ['cls.predictions.bias', ") {
			found = true
		}
	}
	if !found {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

func TestLoadSaveRoundTripBitExact(t *testing.T) {
	src := tinyModel(t, model.SequenceClassification, 8)
	// Values a lossy path would disturb.
	special := []float32{float32(math.Copysign(0, -1)), math.Float32frombits(1), math.MaxFloat32, -math.SmallestNonzeroFloat32,
		math.Float32frombits(0x007fffff), 1 + 1.0/(1<<23), 0.1}
	w, _ := src.Tensor("bert.encoder.layer.0.attention.self.query.weight")
	copy(w, special)

	dir1, dir2, dir3 := t.TempDir(), t.TempDir(), t.TempDir()
	must(t, Save(dir1, src, ""))
	m1, _, err := Load(dir1, model.SequenceClassification, Options{})
	must(t, err)
	must(t, Save(dir2, m1, ""))
	m2, _, err := Load(dir2, model.SequenceClassification, Options{})
	must(t, err)
	for _, m := range []*model.Model{m1, m2} {
		for i := range src.Data {
			if math.Float32bits(m.Data[i]) != math.Float32bits(src.Data[i]) {
				t.Fatalf("parameter %d: bits %08x, want %08x", i, math.Float32bits(m.Data[i]), math.Float32bits(src.Data[i]))
			}
		}
	}
	// Saving again gives the same bytes, whatever was saved from.
	must(t, Save(dir3, m2, ""))
	for _, f := range []string{"config.json", "model.safetensors"} {
		b1, err := os.ReadFile(filepath.Join(dir1, f))
		must(t, err)
		for _, d := range []string{dir2, dir3} {
			b, err := os.ReadFile(filepath.Join(d, f))
			must(t, err)
			if !bytes.Equal(b, b1) {
				t.Errorf("%s differs between saves (%d vs %d bytes)", f, len(b), len(b1))
			}
		}
	}
	// And the files say what transformers writes.
	st, err := safetensors.Open(filepath.Join(dir1, "model.safetensors"))
	must(t, err)
	defer st.Close()
	if md := st.Metadata(); md["format"] != "pt" {
		t.Errorf("metadata %v", md)
	}
	cfg, _, err := model.ReadConfig(filepath.Join(dir1, "config.json"))
	must(t, err)
	if !slices.Equal(cfg.Architectures, []string{"BertForSequenceClassification"}) || cfg.ID2Label[2] != "pos" {
		t.Errorf("config %+v", cfg)
	}
}

// Whatever the bytes, Load returns a model or an error, never panics.
func TestLoadCorruptFilesNeverPanic(t *testing.T) {
	dir, _ := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	orig, err := os.ReadFile(path)
	must(t, err)
	n := int(binary.LittleEndian.Uint64(orig))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		b := slices.Clone(orig)
		switch i % 3 {
		case 0: // flip bytes in the header
			for k := 0; k < 1+rng.IntN(4); k++ {
				b[rng.IntN(8+n)] = byte(rng.IntN(256))
			}
		case 1: // truncate anywhere
			b = b[:rng.IntN(len(b))]
		case 2: // flip bytes anywhere
			for k := 0; k < 1+rng.IntN(8); k++ {
				b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
			}
		}
		must(t, os.WriteFile(path, b, 0o644))
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("case %d: Load panicked: %v", i, r)
				}
			}()
			_, _, err := Load(dir, model.SequenceClassification, Options{})
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("case %d: error %q does not name the file", i, err)
			}
		}()
	}
}

// A masked-LM checkpoint that stores the prediction bias only under its tied
// name, cls.predictions.decoder.bias, still provides it — and a NaN in it
// is an error like anywhere else.
func TestLoadTiedDecoderBias(t *testing.T) {
	for _, poison := range []bool{false, true} {
		dir := t.TempDir()
		src := tinyModel(t, model.MaskedLM, 9)
		if poison {
			b, _ := src.Tensor("cls.predictions.bias")
			b[3] = float32(math.NaN())
		}
		must(t, Save(dir, src, ""))
		renameTensors(t, dir, func(n string) string {
			if n == "cls.predictions.bias" {
				return "cls.predictions.decoder.bias"
			}
			return n
		})
		if poison {
			wantInError(t, loadErr(t, dir, model.MaskedLM), "cls.predictions.decoder.bias", "NaN")
			continue
		}
		m, rep, err := Load(dir, model.MaskedLM, Options{})
		must(t, err)
		sameData(t, m, src)
		if len(rep.Missing)+len(rep.Unexpected) != 0 {
			t.Errorf("missing %v unexpected %v", rep.Missing, rep.Unexpected)
		}
	}
}

// Checkpoints written by transformers before 4.31 carry the embeddings'
// position_ids buffer (I64); like transformers, Load ignores it quietly.
func TestLoadIgnoresPositionIDsBuffer(t *testing.T) {
	dir, src := savedTiny(t)
	path := filepath.Join(dir, "model.safetensors")
	tensors, meta, err := safetensors.ReadFile(path)
	must(t, err)
	ids := make([]byte, 0, 8*16)
	for i := 0; i < 16; i++ {
		ids = binary.LittleEndian.AppendUint64(ids, uint64(i))
	}
	tensors["bert.embeddings.position_ids"] = safetensors.Tensor{DType: safetensors.I64, Shape: []int{1, 16}, Raw: ids}
	must(t, safetensors.Write(path, tensors, meta))
	m, rep, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)
	if len(rep.Unexpected)+len(rep.Warnings) != 0 {
		t.Errorf("unexpected %v warnings %q", rep.Unexpected, rep.Warnings)
	}
}

// TestLoadNoBaseTensor: a folder whose weights hold no tensor of the base
// model (another file saved as model.safetensors, a head alone) is an
// error naming the folder and what it holds, not a model of initial
// values; one base tensor is enough to load, with warnings.
func TestLoadNoBaseTensor(t *testing.T) {
	vec := func(n int) safetensors.Tensor {
		return safetensors.Tensor{DType: safetensors.F32, Shape: []int{n}, F32: make([]float32, n)}
	}
	c := tinyConfig("bert")
	for _, tc := range []struct {
		name    string
		tensors map[string]safetensors.Tensor
		want    string // "" when Load must succeed
	}{
		{"a subspace file", map[string]safetensors.Tensor{"layer.0.basis": vec(4), "layer.0.spectrum": vec(2)}, "which hold only layer.0.basis, layer.0.spectrum"},
		{"a head alone", map[string]safetensors.Tensor{"classifier.bias": vec(3)}, "which hold only classifier.bias"},
		{"no tensors", map[string]safetensors.Tensor{}, "which hold no tensors at all"},
		{"one base tensor", map[string]safetensors.Tensor{"bert.embeddings.LayerNorm.bias": vec(c.HiddenSize)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, Save(dir, tinyModel(t, model.SequenceClassification, 1), ""))
			must(t, safetensors.Write(filepath.Join(dir, "model.safetensors"), tc.tensors, nil))
			_, rep, err := Load(dir, model.SequenceClassification, Options{})
			if tc.want == "" {
				if err != nil || len(rep.Missing) == 0 {
					t.Fatalf("err = %v, missing %d", err, len(rep.Missing))
				}
				return
			}
			if err == nil {
				t.Fatal("loaded a model with no base tensor")
			}
			t.Log(err)
			for _, want := range []string{"model folder " + dir, "no tensor of the bert base model (bert.*)", tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameData(t *testing.T, got, want *model.Model) {
	t.Helper()
	if len(got.Data) != len(want.Data) {
		t.Fatalf("model has %d parameters, want %d", len(got.Data), len(want.Data))
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("parameter %d = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}
