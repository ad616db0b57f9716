package judge

import (
	"slices"
	"sort"
)

// diffMatrix is the m×n matrix of differences x[i] − y[j] of two sorted
// samples, never built: row i is x[i] − yDesc[·] with y in descending
// order, so every row and every column ascends. kth selects its order
// statistics in O((m+n)·log(m·n)) time and O(m) memory, so a Hodges–Lehmann
// interval of two 10,000-point samples does not need 10⁸ differences in
// memory. (IEEE subtraction rounds monotonically, so the computed
// differences are sorted too.)
type diffMatrix struct {
	x, yDesc []float64
	lo, hi   []int // active columns of row i: [lo[i], hi[i])
	lt, le   []int // per row: columns < pivot, columns ≤ pivot
	mids     []weighted
	buf      []float64
}

type weighted struct {
	v float64
	w int
}

func newDiffMatrix(xs, ys []float64) *diffMatrix {
	yDesc := slices.Clone(ys)
	slices.Reverse(yDesc)
	m := len(xs)
	return &diffMatrix{
		x: xs, yDesc: yDesc,
		lo: make([]int, m), hi: make([]int, m), lt: make([]int, m), le: make([]int, m),
	}
}

func (d *diffMatrix) at(i, j int) float64 { return d.x[i] - d.yDesc[j] }

// kth returns the k-th smallest difference, 1 ≤ k ≤ m·n. It narrows each
// row to the columns that can still hold the answer around a pivot — the
// weighted median of the rows' middle candidates, which removes at least a
// quarter of the candidates each round (Johnson & Mizoguchi 1978; Monahan
// 1984 picks the pivot at random instead) — and sorts the last few.
func (d *diffMatrix) kth(k int) float64 {
	m, n := len(d.x), len(d.yDesc)
	for i := range m {
		d.lo[i], d.hi[i] = 0, n
	}
	small := 4 * (m + n)
	for {
		active, before := 0, 0
		for i := range m {
			active += d.hi[i] - d.lo[i]
			before += d.lo[i]
		}
		if active <= small {
			return d.pickActive(k - before)
		}
		pivot := d.pivot()
		less, lessEq := d.count(pivot)
		switch {
		case k <= less: // the answer is below the pivot
			for i := range m {
				d.hi[i] = min(d.hi[i], d.lt[i])
			}
		case k > lessEq: // the answer is above the pivot
			for i := range m {
				d.lo[i] = max(d.lo[i], d.le[i])
			}
		default:
			return pivot
		}
	}
}

// pivot returns the weighted median of the active rows' middle elements,
// each weighted by its row's number of active columns.
func (d *diffMatrix) pivot() float64 {
	d.mids = d.mids[:0]
	total := 0
	for i := range d.x {
		if w := d.hi[i] - d.lo[i]; w > 0 {
			d.mids = append(d.mids, weighted{d.at(i, d.lo[i]+w/2), w})
			total += w
		}
	}
	sort.Slice(d.mids, func(a, b int) bool { return d.mids[a].v < d.mids[b].v })
	acc := 0
	for _, c := range d.mids {
		acc += c.w
		if 2*acc >= total {
			return c.v
		}
	}
	return d.mids[len(d.mids)-1].v
}

// count fills lt and le with each row's number of differences below and
// not above the pivot, walking the staircase they form (both shrink as the
// row grows), and returns their totals.
func (d *diffMatrix) count(pivot float64) (less, lessEq int) {
	n := len(d.yDesc)
	jl, je := n, n
	for i := range d.x {
		for jl > 0 && d.at(i, jl-1) >= pivot {
			jl--
		}
		for je > 0 && d.at(i, je-1) > pivot {
			je--
		}
		d.lt[i], d.le[i] = jl, je
		less += jl
		lessEq += je
	}
	return less, lessEq
}

// pickActive returns the r-th smallest (1-based) of the active candidates.
func (d *diffMatrix) pickActive(r int) float64 {
	d.buf = d.buf[:0]
	for i := range d.x {
		for j := d.lo[i]; j < d.hi[i]; j++ {
			d.buf = append(d.buf, d.at(i, j))
		}
	}
	slices.Sort(d.buf)
	return d.buf[r-1]
}
