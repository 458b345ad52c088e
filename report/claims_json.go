package report

import (
	"encoding/json"
	"fmt"

	"github.com/subtune/subtune/jsonnum"
)

type pairJSON struct {
	Task  string `json:"task"`
	Left  string `json:"left"`
	Right string `json:"right"`
}

// claimJSON is Claim's JSON form, with the sentence REPORT.md writes.
type claimJSON struct {
	Left     string         `json:"left"`
	Op       string         `json:"op"`
	Right    string         `json:"right"`
	Verdict  string         `json:"verdict"`
	Mean     jsonnum.Float  `json:"mean"`
	Lo       jsonnum.Float  `json:"lo"`
	Hi       jsonnum.Float  `json:"hi"`
	Seeds    []int          `json:"seeds"`
	Diffs    jsonnum.Floats `json:"diffs"`
	Pairs    []pairJSON     `json:"pairs"`
	NoSignal []string       `json:"no_signal,omitempty"`
	Sentence string         `json:"sentence"`
}

// MarshalJSON encodes c with its sentence; NaN ends of the interval (one
// seed) are written as null.
func (c Claim) MarshalJSON() ([]byte, error) {
	j := claimJSON{Left: c.Left, Op: c.Op, Right: c.Right, Verdict: c.Verdict.String(),
		Mean: jsonnum.Float(c.Mean), Lo: jsonnum.Float(c.Lo), Hi: jsonnum.Float(c.Hi),
		Seeds: c.Seeds, Diffs: c.Diffs, NoSignal: c.NoSignal, Sentence: c.String()}
	for _, p := range c.Pairs {
		j.Pairs = append(j.Pairs, pairJSON(p))
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes MarshalJSON's form; the sentence is generated
// again from the numbers, not read.
func (c *Claim) UnmarshalJSON(b []byte) error {
	var j claimJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := parseVerdict(j.Verdict)
	if err != nil {
		return err
	}
	*c = Claim{Left: j.Left, Op: j.Op, Right: j.Right, Verdict: v, Mean: float64(j.Mean), Lo: float64(j.Lo), Hi: float64(j.Hi),
		Seeds: j.Seeds, Diffs: j.Diffs, NoSignal: j.NoSignal}
	for _, p := range j.Pairs {
		c.Pairs = append(c.Pairs, Pair(p))
	}
	return nil
}

func parseVerdict(s string) (Verdict, error) {
	for v := NotChecked; v <= Fails; v++ {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("claim verdict %q: want not checked, not resolved, holds or does not hold", s)
}
