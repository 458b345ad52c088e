package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const torchFixtures = "../../torchbin/testdata"

func runConvert(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newConvertCmd()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestConvertCommand converts a pytorch_model.bin folder and predicts with
// both folders: the predictions are the same, byte for byte.
func TestConvertCommand(t *testing.T) {
	src := filepath.Join(torchFixtures, "legacy")
	out := filepath.Join(t.TempDir(), "converted")
	stdout, err := runConvert(t, src, "--output_dir", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote "+filepath.Join(out, "model.safetensors")+": 42 tensors") || !strings.Contains(stdout, "copied config.json") {
		t.Errorf("output %q", stdout)
	}
	const input = `{"input_ids": [2, 17, 9, 3, 11, 3]}` + "\n" + `{"input_ids": [2, 5, 3], "token_type_ids": [0, 0, 0]}` + "\n"
	fromBin, _, err := runPredict(t, input, "--model_name_or_path", src)
	if err != nil {
		t.Fatal(err)
	}
	fromSafetensors, _, err := runPredict(t, input, "--model_name_or_path", out)
	if err != nil {
		t.Fatal(err)
	}
	if fromBin != fromSafetensors || strings.Count(fromBin, "logits") != 2 {
		t.Errorf("predictions differ:\n%s\n%s", fromBin, fromSafetensors)
	}
}

func TestConvertCommandErrors(t *testing.T) {
	if _, err := runConvert(t, filepath.Join(torchFixtures, "zip")); err == nil || !strings.Contains(err.Error(), "--output_dir is required") {
		t.Errorf("no --output_dir: %v", err)
	}
	out := t.TempDir()
	_, err := runConvert(t, filepath.Join(torchFixtures, "hostile"), "--output_dir", out)
	if err == nil || !strings.Contains(err.Error(), "posix.system") {
		t.Errorf("hostile: %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("hostile: wrote %d files", len(entries))
	}
}
