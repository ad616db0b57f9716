package judge

import (
	"math/rand/v2"
	"slices"
)

// diffMatrix is the m×n matrix of differences x[i] − y[j] of two sorted
// samples, never built: row i is x[i] − yDesc[·] with y in descending
// order, so every row and every column ascends. kth selects its order
// statistics in O((m+n)·log(m·n)) expected time and O(m) memory, so a
// Hodges–Lehmann interval of two 10,000-point samples does not need 10⁸
// differences in memory. (IEEE subtraction rounds monotonically, so the
// computed differences are sorted too.)
type diffMatrix struct {
	x, yDesc []float64
	lo, hi   []int // active columns of row i: [lo[i], hi[i])
	lt, le   []int // per row: columns < pivot, columns ≤ pivot
	buf      []float64
	rng      *rand.Rand
}

func newDiffMatrix(xs, ys []float64) *diffMatrix {
	yDesc := slices.Clone(ys)
	slices.Reverse(yDesc)
	m := len(xs)
	return &diffMatrix{
		x: xs, yDesc: yDesc,
		lo: make([]int, m), hi: make([]int, m), lt: make([]int, m), le: make([]int, m),
		// The pivots only decide how fast kth narrows, never what it
		// returns; a fixed seed keeps even the running time reproducible.
		rng: rand.New(rand.NewPCG(uint64(m), uint64(len(ys)))),
	}
}

func (d *diffMatrix) at(i, j int) float64 { return d.x[i] - d.yDesc[j] }

// kth returns the k-th smallest difference, 1 ≤ k ≤ m·n. It narrows each
// row to the columns that can still hold the answer around a pivot drawn
// at random from the remaining candidates — Monahan's algorithm for the
// Hodges–Lehmann estimator (ACM TOMS 10(3), 1984), which needs O(log m·n)
// rounds of O(m+n) on average — and selects among the last few.
func (d *diffMatrix) kth(k int) float64 {
	m, n := len(d.x), len(d.yDesc)
	for i := range m {
		d.lo[i], d.hi[i] = 0, n
	}
	for {
		active, before := 0, 0
		for i := range m {
			active += d.hi[i] - d.lo[i]
			before += d.lo[i]
		}
		if active <= m+n {
			return d.pickActive(k - before)
		}
		pivot := d.pivot(active)
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

// next returns the smallest difference above v, or v if none is.
func (d *diffMatrix) next(v float64) float64 {
	_, _ = d.count(v)
	best, found := v, false
	for i, j := range d.le {
		if j < len(d.yDesc) && (!found || d.at(i, j) < best) {
			best, found = d.at(i, j), true
		}
	}
	return best
}

// pivot returns one of the active candidates, each as likely as another.
func (d *diffMatrix) pivot(active int) float64 {
	r := d.rng.IntN(active)
	for i := range d.x {
		w := d.hi[i] - d.lo[i]
		if r < w {
			return d.at(i, d.lo[i]+r)
		}
		r -= w
	}
	panic("judge: pivot beyond the active candidates") // active is their count
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
