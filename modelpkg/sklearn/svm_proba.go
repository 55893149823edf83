package sklearn

import "math"

// svcProba is an SVC fitted with probability=True: predict_proba is
// libsvm's svm_predict_probability (Platt scaling of each one-vs-one
// decision value, then pairwise coupling).
// predict and decision_function are those of the plain SVC, as in
// scikit-learn.
type svcProba struct {
	*svc
	probA, probB []float64 // one per pair of classes
}

// decodeSVCProba returns s with predict_proba when the SVC was fitted
// with probability=True, else s.
func decodeSVCProba(o *obj, s *svc) (any, error) {
	if p, _ := o.bool("probability", false); !p {
		return s, nil
	}
	nc := len(s.classes)
	np := nc * (nc - 1) / 2
	a, err := o.vec("_probA", -1)
	if err != nil {
		return nil, err
	}
	b, err := o.vec("_probB", -1)
	if err != nil {
		return nil, err
	}
	if len(a) == 0 && len(b) == 0 {
		return s, nil // scikit-learn raises NotFittedError in predict_proba
	}
	if len(a) != np || len(b) != np {
		return nil, o.errf("_probA", "%d and %d Platt parameters for %d pairs of classes", len(a), len(b), np)
	}
	return &svcProba{svc: s, probA: a, probB: b}, nil
}

// sigmoidPredict is libsvm's sigmoid_predict.
func sigmoidPredict(dec, a, b float64) float64 {
	fApB := dec*a + b
	if fApB >= 0 {
		return math.Exp(-fApB) / (1.0 + math.Exp(-fApB))
	}
	return 1.0 / (1 + math.Exp(fApB))
}

func (s *svcProba) proba(t *table, out []float64) error {
	if err := checkInput(t, s.d, s.name, false); err != nil {
		return err
	}
	nc := len(s.classes)
	np := nc * (nc - 1) / 2
	k, dec, votes := make([]float64, s.nSV), make([]float64, np), make([]int, nc)
	r := make([]float64, nc*nc) // pairwise_prob, row-major
	c := newCoupling(nc)
	const minProb = 1e-7
	for i := 0; i < t.n; i++ {
		s.libsvmDecision(t.row(i), k, dec, votes)
		p := 0
		for a := 0; a < nc; a++ {
			for b := a + 1; b < nc; b++ {
				v := math.Min(math.Max(sigmoidPredict(dec[p], s.probA[p], s.probB[p]), minProb), 1-minProb)
				r[a*nc+b], r[b*nc+a] = v, 1-v
				p++
			}
		}
		// scikit-learn's libsvm couples two classes too (libsvm >= 3.25
		// takes the pairwise probabilities as they are).
		c.solve(r, out[i*nc:(i+1)*nc])
	}
	return nil
}

// coupling holds the work space of libsvm's multiclass_probability.
type coupling struct {
	k  int
	q  []float64 // k x k
	qp []float64
}

func newCoupling(k int) *coupling {
	return &coupling{k: k, q: make([]float64, k*k), qp: make([]float64, k)}
}

// solve is libsvm's multiclass_probability (Wu, Lin and Weng's second
// method): the class probabilities p from the pairwise ones r (k x k).
func (c *coupling) solve(r, p []float64) {
	k, q, qp := c.k, c.q, c.qp
	maxIter := max(100, k)
	eps := 0.005 / float64(k)
	for t := 0; t < k; t++ {
		p[t] = 1.0 / float64(k)
		q[t*k+t] = 0
		for j := 0; j < t; j++ {
			q[t*k+t] += r[j*k+t] * r[j*k+t]
			q[t*k+j] = q[j*k+t]
		}
		for j := t + 1; j < k; j++ {
			q[t*k+t] += r[j*k+t] * r[j*k+t]
			q[t*k+j] = -r[j*k+t] * r[t*k+j]
		}
	}
	for iter := 0; iter < maxIter; iter++ {
		// Stopping condition; Qp and pQp are recomputed for accuracy.
		pQp := 0.0
		for t := 0; t < k; t++ {
			qp[t] = 0
			for j := 0; j < k; j++ {
				qp[t] += q[t*k+j] * p[j]
			}
			pQp += p[t] * qp[t]
		}
		maxError := 0.0
		for t := 0; t < k; t++ {
			if e := math.Abs(qp[t] - pQp); e > maxError {
				maxError = e
			}
		}
		if maxError < eps {
			break
		}
		for t := 0; t < k; t++ {
			diff := (-qp[t] + pQp) / q[t*k+t]
			p[t] += diff
			pQp = (pQp + diff*(diff*q[t*k+t]+2*qp[t])) / (1 + diff) / (1 + diff)
			for j := 0; j < k; j++ {
				qp[j] = (qp[j] + diff*q[t*k+j]) / (1 + diff)
				p[j] /= (1 + diff)
			}
		}
	}
}
