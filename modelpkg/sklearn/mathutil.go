package sklearn

import "math"

// pairwiseSum adds a as numpy's np.sum does along a contiguous axis
// (pairwise summation with an 8-way unrolled base case), so sums round
// as scikit-learn's do.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			r[0] += a[i]
			r[1] += a[i+1]
			r[2] += a[i+2]
			r[3] += a[i+3]
			r[4] += a[i+4]
			r[5] += a[i+5]
			r[6] += a[i+6]
			r[7] += a[i+7]
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// dot is x·y, summed in order.
func dot(x, y []float64) float64 {
	s := 0.0
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// expit is scipy.special.expit.
func expit(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softmaxInPlace is sklearn.utils.extmath.softmax on one row.
func softmaxInPlace(r []float64) {
	m := r[0]
	for _, x := range r[1:] {
		if x > m {
			m = x
		}
	}
	for i, x := range r {
		r[i] = math.Exp(x - m)
	}
	s := pairwiseSum(r)
	for i := range r {
		r[i] /= s
	}
}

// logSumExp is scipy.special.logsumexp on one row.
func logSumExp(r []float64, tmp []float64) float64 {
	m := math.Inf(-1)
	for _, x := range r {
		if x > m {
			m = x
		}
	}
	if math.IsInf(m, 0) {
		m = 0
	}
	tmp = tmp[:0]
	for _, x := range r {
		tmp = append(tmp, math.Exp(x-m))
	}
	return math.Log(pairwiseSum(tmp)) + m
}

// argmax returns the index of the first largest value (numpy's argmax;
// a NaN wins, as in numpy).
func argmax(r []float64) int {
	best := 0
	for i, x := range r {
		if math.IsNaN(x) {
			return i
		}
		if x > r[best] {
			best = i
		}
	}
	return best
}
