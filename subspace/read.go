package subspace

import "github.com/subtune/subtune/trajectory"

// pointReader reads the points of a Points for one goroutine: reading a
// checkpoint is hashing and decoding it, CPU work that parallelises across
// checkpoints when each goroutine has its own files open.
type pointReader struct {
	p     *Points
	trs   []*trajectory.Reader // per run; nil for a run held in memory
	owned bool                 // trs were opened for this reader, and Close closes them
}

// reader returns a reader of p: the runs' own readers for the first, new
// ones for the others.
func (p *Points) reader(first bool) (*pointReader, error) {
	pr := &pointReader{p: p, trs: make([]*trajectory.Reader, len(p.runs)), owned: !first}
	for i, r := range p.runs {
		if first {
			pr.trs[i] = r.r
			continue
		}
		tr, err := r.reader()
		if err != nil {
			pr.Close()
			return nil, err
		}
		pr.trs[i] = tr
	}
	return pr, nil
}

// Close closes the files this reader opened.
func (pr *pointReader) Close() {
	if !pr.owned {
		return
	}
	for _, tr := range pr.trs {
		if tr != nil {
			tr.Close()
		}
	}
}

// readTheta0 reads layer l of θ0 (the first run's; all runs share it).
func (pr *pointReader) readTheta0(l int, dst []float32) error {
	if tr := pr.trs[0]; tr != nil {
		return tr.ReadTheta0(l, dst)
	}
	copy(dst, pr.p.runs[0].mem.theta0[l])
	return nil
}

// readLayer reads layer l of θ at point k.
func (pr *pointReader) readLayer(k, l int, dst []float32) error {
	pt := pr.p.at[k]
	if tr := pr.trs[pt.Run]; tr != nil {
		return tr.ReadLayer(pt.K, l, dst)
	}
	m := pr.p.runs[pt.Run].mem
	for j := range dst {
		dst[j] = m.theta0[l][j] + m.delta[pt.K][l][j]
	}
	return nil
}

// readDelta reads layer l of θ − θ0 at point k: as stored when the run
// stores deltas, else θk − θ0 in float32.
func (pr *pointReader) readDelta(k, l int, dst []float32) error {
	pt := pr.p.at[k]
	if tr := pr.trs[pt.Run]; tr != nil {
		return tr.ReadDelta(pt.K, l, dst)
	}
	copy(dst, pr.p.runs[pt.Run].mem.delta[pt.K][l])
	return nil
}
