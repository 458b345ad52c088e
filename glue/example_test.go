package glue_test

import (
	"fmt"
	"log"

	"github.com/subtune/subtune/glue"
)

// Load a task's dev set (here from the files shipped with subtune) and
// score a constant prediction of its first class, the way a trainer scores
// the argmax of its logits.
func Example() {
	task, err := glue.Lookup("rte")
	if err != nil {
		log.Fatal(err)
	}
	for _, split := range task.EvalSplits() {
		dev, err := task.Load("", split)
		if err != nil {
			log.Fatal(err)
		}
		preds := make([]int, len(dev))
		m, err := task.Metric(preds, nil, dev)
		if err != nil {
			log.Fatal(err)
		}
		m = glue.WithSuffix(m, split.MetricSuffix())
		fmt.Printf("%s %s: %d examples, labels %q\n", task.Name, split, len(dev), task.Labels)
		fmt.Printf("first: %q / %q → %s\n", dev[0].TextA[:24], dev[0].TextB, task.Labels[dev[0].Label])
		fmt.Printf("%s %.4f\n", task.MainMetric(), m[task.MainMetric()])
	}
	// Output:
	// rte validation: 277 examples, labels ["entailment" "not_entailment"]
	// first: "Dana Reeve, the widow of" / "Christopher Reeve had an accident." → not_entailment
	// accuracy 0.5271
}
