package checkpoint_test

import (
	"fmt"
	"log"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
)

// Load a HuggingFace model folder and classify a padded batch of two
// sequences. The folder here is a tiny BERT from the repository's test
// data; a hub model id such as "bert-base-uncased" or "org/name@revision"
// would be fetched into the HuggingFace cache by hfhub.Resolve first.
func ExampleLoad() {
	m, rep, err := checkpoint.Load("../model/testdata/tiny-bert", model.SequenceClassification, checkpoint.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(rep) // warnings about config keys, missing or unused weights: none here
	fmt.Println(checkpoint.Architecture(m), m.Config.NumLabels(), "labels")

	// Two sequences, padded to 11 tokens: [CLS]=2, [SEP]=3, [PAD]=0.
	b := &model.Batch{B: 2, T: 11,
		InputIDs: []int32{
			2, 67, 67, 27, 35, 3, 70, 19, 48, 95, 3,
			2, 44, 43, 29, 3, 65, 28, 3, 0, 0, 0,
		},
		TokenTypeIDs: []int32{
			0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
			0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
		},
		AttentionMask: []int32{
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
			1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0,
		},
	}
	ws := m.NewWorkspace(b.B, b.T, 0) // reusable for any batch up to 2×11
	if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
		log.Fatal(err)
	}
	nl := m.Config.NumLabels()
	for s := 0; s < b.B; s++ {
		logits := ws.Logits[s*nl : (s+1)*nl]
		best := 0
		for k := range logits {
			if logits[k] > logits[best] {
				best = k
			}
		}
		fmt.Printf("sequence %d: logits %.3f → %s\n", s, logits, m.Config.ID2Label[best])
	}
	// Output:
	// BertForSequenceClassification 3 labels
	// sequence 0: logits [0.044 1.198 0.420] → LABEL_1
	// sequence 1: logits [0.200 1.467 0.565] → LABEL_1
}
