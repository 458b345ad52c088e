package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// tokenizerConfig is the part of transformers' tokenizer_config.json that
// changes how text is tokenised.
type tokenizerConfig struct {
	TokenizerClass       string   `json:"tokenizer_class,omitempty"`
	DoLowerCase          *bool    `json:"do_lower_case,omitempty"`
	StripAccents         *bool    `json:"strip_accents"`
	TokenizeChineseChars *bool    `json:"tokenize_chinese_chars,omitempty"`
	AddPrefixSpace       *bool    `json:"add_prefix_space,omitempty"`
	ModelMaxLength       *float64 `json:"model_max_length,omitempty"` // a float: transformers writes 1e30 for "no limit"

	UnkToken  *tokenSpec `json:"unk_token,omitempty"`
	SepToken  *tokenSpec `json:"sep_token,omitempty"`
	PadToken  *tokenSpec `json:"pad_token,omitempty"`
	ClsToken  *tokenSpec `json:"cls_token,omitempty"`
	MaskToken *tokenSpec `json:"mask_token,omitempty"`
	BosToken  *tokenSpec `json:"bos_token,omitempty"`
	EosToken  *tokenSpec `json:"eos_token,omitempty"`

	// AddedTokensDecoder maps an id (as a string) to an added token.
	AddedTokensDecoder map[string]addedTokenJSON `json:"added_tokens_decoder,omitempty"`

	// Others are the keys not interpreted here (clean_up_tokenization_spaces,
	// never_split, ...), kept to be written back as they were.
	Others map[string]json.RawMessage `json:"-"`
}

// configFields is tokenizerConfig without its methods.
type configFields tokenizerConfig

func (c *tokenizerConfig) UnmarshalJSON(data []byte) error {
	if err := json.Unmarshal(data, (*configFields)(c)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	known := c.knownKeys()
	c.Others = nil
	for k, v := range all {
		if !known[k] {
			if c.Others == nil {
				c.Others = map[string]json.RawMessage{}
			}
			c.Others[k] = v
		}
	}
	return nil
}

// MarshalJSON writes the interpreted keys and the others, sorted as
// transformers writes them (sort_keys=True).
func (c tokenizerConfig) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(configFields(c))
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	for k, v := range c.Others {
		all[k] = v
	}
	return json.Marshal(all)
}

// knownKeys are the JSON names of tokenizerConfig's fields.
func (c *tokenizerConfig) knownKeys() map[string]bool {
	known := map[string]bool{}
	t := reflect.TypeOf(configFields{})
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			known[name] = true
		}
	}
	return known
}

// specialTokensMap is special_tokens_map.json as transformers saves it
// beside tokenizer_config.json: the special tokens by role.
func (c *tokenizerConfig) specialTokensMap() map[string]*tokenSpec {
	m := map[string]*tokenSpec{}
	for name, s := range map[string]*tokenSpec{"unk_token": c.UnkToken, "sep_token": c.SepToken, "pad_token": c.PadToken,
		"cls_token": c.ClsToken, "mask_token": c.MaskToken, "bos_token": c.BosToken, "eos_token": c.EosToken} {
		if s != nil {
			m[name] = s
		}
	}
	return m
}

// addedTokenJSON is an added token as tokenizer.json and
// tokenizer_config.json write it.
type addedTokenJSON struct {
	ID         *int32 `json:"id,omitempty"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized,omitempty"`
	Special    *bool  `json:"special,omitempty"`
}

// tokenSpec is a special token in tokenizer_config.json: either a plain
// string or an AddedToken object.
type tokenSpec struct {
	addedTokenJSON
	plain bool
}

func (s *tokenSpec) UnmarshalJSON(data []byte) error {
	var str string
	if err := json.Unmarshal(data, &str); err == nil {
		*s = tokenSpec{addedTokenJSON: addedTokenJSON{Content: str}, plain: true}
		return nil
	}
	return json.Unmarshal(data, &s.addedTokenJSON)
}

func (s tokenSpec) MarshalJSON() ([]byte, error) {
	if s.plain {
		return json.Marshal(s.Content)
	}
	type object struct {
		addedTokenJSON
		Type string `json:"__type"`
	}
	return json.Marshal(object{s.addedTokenJSON, "AddedToken"})
}

func (s *tokenSpec) content(def string) string {
	if s == nil || s.Content == "" {
		return def
	}
	return s.Content
}

// modelConfig is the part of a model's config.json that limits sequence
// length.
type modelConfig struct {
	ModelType             string `json:"model_type"`
	MaxPositionEmbeddings int    `json:"max_position_embeddings"`
	PadTokenID            *int   `json:"pad_token_id"`
}

// readJSONFile decodes dir/name into v. It reports whether the file exists;
// a file that exists but does not parse is an error naming it.
func readJSONFile(f folder, name string, v any) (bool, error) {
	path := f.path(name)
	data, err := f.read(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, jsonError(path, data, err)
	}
	return true, nil
}

// check refuses settings transformers could not use.
func (tc *tokenizerConfig) check() error {
	for _, key := range slices.Sorted(maps.Keys(tc.AddedTokensDecoder)) {
		if id, err := strconv.ParseInt(key, 10, 32); err != nil || id < 0 {
			return fmt.Errorf("added_tokens_decoder: key %q is not a token id", key)
		}
	}
	if m := tc.ModelMaxLength; m != nil && (*m < 1 || *m < noLimit && *m != math.Trunc(*m)) {
		return fmt.Errorf("model_max_length %v: want a positive whole number", *m)
	}
	return nil
}

// noLimit is the smallest model_max_length taken to mean "no limit":
// transformers writes int(1e30) when a model sets none.
const noLimit = 1 << 40

// maxLength combines the limits the folder states, 0 when it states none.
// RoBERTa-style models number positions from pad_token_id+1, so two of
// their max_position_embeddings are not usable (514 → 512).
func maxLength(tc *tokenizerConfig, mc *modelConfig) int {
	limit := 0
	if tc.ModelMaxLength != nil && *tc.ModelMaxLength > 0 && *tc.ModelMaxLength < noLimit {
		limit = int(*tc.ModelMaxLength)
	}
	if mc.MaxPositionEmbeddings > 0 {
		n := mc.MaxPositionEmbeddings
		switch mc.ModelType {
		case "roberta", "xlm-roberta", "camembert", "longformer":
			pad := 1
			if mc.PadTokenID != nil {
				pad = *mc.PadTokenID
			}
			n -= pad + 1
		}
		if n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	return limit
}
