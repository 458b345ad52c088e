package trainer

import (
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// tinyModelDir saves a randomly initialised model of c, with the uncased
// WordPiece vocabulary, into a temporary folder.
func tinyModelDir(t testing.TB, c model.Config) string {
	t.Helper()
	return testmodel.New(t, c, model.NoHead, 1)
}

// tinyArgs fine-tunes on the first 64 examples of the shipped SST-2 for
// three epochs of 8 steps.
func tinyArgs(modelDir, outDir string) Args {
	a := DefaultArgs()
	a.ModelNameOrPath, a.OutputDir = modelDir, outDir
	a.TaskName = "sst2"
	a.DoTrain, a.DoEval = true, true
	a.MaxTrainSamples, a.MaxEvalSamples = 64, 32
	a.PerDeviceTrainBatchSize, a.PerDeviceEvalBatchSize = 8, 16
	a.MaxSeqLength = 32
	a.LearningRate = 3e-3
	a.WarmupRatio = 0.1
	a.LoggingSteps = 1
	return a
}
