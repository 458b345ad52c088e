package subspace

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// metadata is the extracted file's metadata: the options, the shape, θ0's
// hash, the ranks, and where the points come from.
func (x *extractor) metadata(ranks map[string]int) (map[string]string, error) {
	lts, err := json.Marshal(x.p.layerTensors())
	if err != nil {
		return nil, err
	}
	rk, err := json.Marshal(ranks)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		metaFormat: formatName, metaVersion: strconv.Itoa(formatVersion),
		metaKind: KindIntrinsic, metaScope: x.o.Scope, metaRows: x.o.Rows,
		metaDim: strconv.Itoa(x.o.Dim), metaT: strconv.Itoa(x.t),
		metaTheta0: x.p.theta0Hash(), metaNumLayers: strconv.Itoa(x.L), metaLayerSize: strconv.Itoa(x.D),
		metaLayerTensors: string(lts), metaTrajectory: x.p.name, metaDType: string(x.o.DType),
		metaRank: string(rk),
	}
	for k, v := range x.p.meta {
		meta[k] = v
	}
	return meta, nil
}

// logSpectra prints each subspace's singular values and the variance its
// leading directions explain.
func (x *extractor) logSpectra(sp []Spectrum, logf func(string, ...any)) {
	maxRank := x.t
	if x.o.Rows == RowsCentered {
		maxRank = x.t - 1
	}
	for _, s := range sp {
		ex := s.Explained()
		var cum []string
		for k := 1; k <= len(ex); k *= 2 {
			cum = append(cum, fmt.Sprintf("%d:%.2f%%", k, 100*ex[k-1]))
		}
		if len(ex)&(len(ex)-1) != 0 {
			cum = append(cum, fmt.Sprintf("%d:%.2f%%", len(ex), 100*ex[len(ex)-1]))
		}
		note := ""
		if s.Rank < maxRank {
			note = fmt.Sprintf("; %d numerically zero direction(s) dropped", x.t-s.Rank)
		} else if s.Rank < x.t {
			note = "; centered rows have rank ≤ t−1"
		}
		if x.o.Scope == ScopeMatrix {
			logf("  %-48s rank %d/%d kept %d  σ1 %.4g  explained %s%s\n", s.Name, s.Rank, x.t, s.Kept, s.Sigma[0], strings.Join(cum, " "), note)
			continue
		}
		var sig []string
		for _, v := range s.Sigma {
			sig = append(sig, strconv.FormatFloat(v, 'g', 4, 64))
		}
		logf("  %s: rank %d/%d, kept %d (%.2f%% of Σσ²)%s\n    σ: %s\n    explained (cumulative): %s\n",
			s.Name, s.Rank, x.t, s.Kept, 100*ex[s.Kept-1], note, strings.Join(sig, " "), strings.Join(cum, " "))
	}
}
