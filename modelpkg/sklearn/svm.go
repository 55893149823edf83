package sklearn

import (
	"fmt"
	"math"
)

// svm: SVC and SVR (libsvm's dense prediction).
type svm struct {
	name     string
	kernel   string
	gamma    float64
	coef0    float64
	degree   int
	sv       []float64 // nSV x d
	nSV, d   int
	nSupport []int
	dual     []float64 // (classes-1) x nSV
	icept    []float64 // libsvm's -rho
	classes  []any
	ovr      bool // decision_function_shape == "ovr"
}

type svc struct{ *svm }
type svr struct{ *svm }

func (s *svm) nIn() int      { return s.d }
func (s *svm) labels() []any { return s.classes }

func decodeSVM(o *obj) (any, error) {
	s := &svm{name: o.name}
	var err error
	if s.kernel, err = o.str("kernel"); err != nil {
		return nil, fmt.Errorf("%w: %s with a callable kernel", ErrUnsupported, o.name)
	}
	switch s.kernel {
	case "linear", "poly", "rbf", "sigmoid":
	default:
		return nil, fmt.Errorf("%w: %s with kernel %q", ErrUnsupported, o.name, s.kernel)
	}
	if sp, _ := o.bool("_sparse", false); sp {
		return nil, fmt.Errorf("%w: %s fitted on sparse input", ErrUnsupported, o.name)
	}
	if s.gamma, err = o.float("_gamma"); err != nil {
		return nil, err
	}
	if s.coef0, err = o.float("coef0"); err != nil {
		return nil, err
	}
	if s.degree, err = o.int("degree"); err != nil {
		return nil, err
	}
	if s.sv, s.nSV, s.d, err = o.mat("support_vectors_"); err != nil {
		return nil, err
	}
	ns, err := o.vec("_n_support", -1)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, v := range ns {
		if v < 0 || v > float64(s.nSV) {
			return nil, o.errf("_n_support", "%v", ns)
		}
		s.nSupport = append(s.nSupport, int(v))
		total += int(v)
	}
	var r, c int
	if s.dual, r, c, err = o.mat("_dual_coef_"); err != nil {
		return nil, err
	}
	if c != s.nSV {
		return nil, o.errf("_dual_coef_", "%d columns for %d support vectors", c, s.nSV)
	}
	if s.icept, err = o.vec("_intercept_", -1); err != nil {
		return nil, err
	}
	if o.name == "SVR" {
		if r != 1 || len(s.icept) != 1 {
			return nil, o.errf("_dual_coef_", "%d rows, %d intercepts", r, len(s.icept))
		}
		return &svr{s}, nil
	}
	if s.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	nc := len(s.classes)
	if nc < 2 || len(s.nSupport) != nc || total != s.nSV || r != nc-1 || len(s.icept) != nc*(nc-1)/2 {
		return nil, o.errf("_dual_coef_", "shapes do not fit %d classes", nc)
	}
	shape, err := o.strOr("decision_function_shape", "ovr")
	if err != nil {
		return nil, err
	}
	s.ovr = shape == "ovr"
	if bt, _ := o.bool("break_ties", false); bt && s.ovr && nc > 2 {
		return nil, fmt.Errorf("%w: SVC with break_ties=True", ErrUnsupported)
	}
	return decodeSVCProba(o, &svc{s})
}

// powi is libsvm's powi.
func powi(base float64, times int) float64 {
	tmp, ret := base, 1.0
	for t := times; t > 0; t /= 2 {
		if t%2 == 1 {
			ret *= tmp
		}
		tmp *= tmp
	}
	return ret
}

func (s *svm) kvalues(x, k []float64) {
	for i := 0; i < s.nSV; i++ {
		v := s.sv[i*s.d : (i+1)*s.d]
		switch s.kernel {
		case "linear":
			k[i] = dot(x, v)
		case "poly":
			k[i] = powi(s.gamma*dot(x, v)+s.coef0, s.degree)
		case "rbf":
			sum := 0.0
			for j, a := range x {
				d := a - v[j]
				sum += d * d
			}
			k[i] = math.Exp(-s.gamma * sum)
		case "sigmoid":
			k[i] = math.Tanh(s.gamma*dot(x, v) + s.coef0)
		}
	}
}

func (r *svr) nOut() int { return 1 }

func (r *svr) predictValues(t *table, out []float64) error {
	if err := checkInput(t, r.d, r.name, false); err != nil {
		return err
	}
	k := make([]float64, r.nSV)
	for i := range out {
		r.kvalues(t.row(i), k)
		sum := 0.0
		for j, kv := range k {
			sum += r.dual[j] * kv
		}
		out[i] = sum + r.icept[0]
	}
	return nil
}

// libsvmDecision returns libsvm's one-vs-one decision values for x and the
// voted class.
func (s *svc) libsvmDecision(x, k, dec []float64, votes []int) int {
	s.kvalues(x, k)
	nc := len(s.classes)
	start := make([]int, nc)
	for i := 1; i < nc; i++ {
		start[i] = start[i-1] + s.nSupport[i-1]
	}
	clear(votes)
	p := 0
	for i := 0; i < nc; i++ {
		for j := i + 1; j < nc; j++ {
			sum := 0.0
			si, sj := start[i], start[j]
			coef1 := s.dual[(j-1)*s.nSV : j*s.nSV]
			coef2 := s.dual[i*s.nSV : (i+1)*s.nSV]
			for q := 0; q < s.nSupport[i]; q++ {
				sum += coef1[si+q] * k[si+q]
			}
			for q := 0; q < s.nSupport[j]; q++ {
				sum += coef2[sj+q] * k[sj+q]
			}
			sum -= -s.icept[p]
			dec[p] = sum
			if sum > 0 {
				votes[i]++
			} else {
				votes[j]++
			}
			p++
		}
	}
	best := 0
	for i := 1; i < nc; i++ {
		if votes[i] > votes[best] {
			best = i
		}
	}
	return best
}

func (s *svc) predictIdx(t *table, out []int) error {
	if err := checkInput(t, s.d, s.name, false); err != nil {
		return err
	}
	nc := len(s.classes)
	k, dec, votes := make([]float64, s.nSV), make([]float64, nc*(nc-1)/2), make([]int, nc)
	for i := range out {
		out[i] = s.libsvmDecision(t.row(i), k, dec, votes)
	}
	return nil
}

// nDecision is the width of decision_function: 1 for two classes, else
// one per class (ovr) or per pair of classes (ovo).
func (s *svc) nDecision() int {
	nc := len(s.classes)
	switch {
	case nc == 2:
		return 1
	case s.ovr:
		return nc
	}
	return nc * (nc - 1) / 2
}

func (s *svc) decision(t *table, out []float64) error {
	if err := checkInput(t, s.d, s.name, false); err != nil {
		return err
	}
	nc := len(s.classes)
	np := nc * (nc - 1) / 2
	k, dec, votes := make([]float64, s.nSV), make([]float64, np), make([]int, nc)
	width := s.nDecision()
	for i := 0; i < t.n; i++ {
		s.libsvmDecision(t.row(i), k, dec, votes)
		r := out[i*width : (i+1)*width]
		switch {
		case nc == 2:
			r[0] = -dec[0]
		case !s.ovr:
			copy(r, dec)
		default:
			// sklearn.utils.multiclass._ovr_decision_function(dec < 0, -dec, nc)
			var vts [64]float64
			var conf [64]float64
			v, c := vts[:0], conf[:0]
			if nc > 64 {
				v, c = make([]float64, 0, nc), make([]float64, 0, nc)
			}
			v, c = v[:nc], c[:nc]
			clear(v)
			clear(c)
			p := 0
			for a := 0; a < nc; a++ {
				for b := a + 1; b < nc; b++ {
					c[a] -= -dec[p]
					c[b] += -dec[p]
					if dec[p] < 0 {
						v[b]++
					} else {
						v[a]++
					}
					p++
				}
			}
			for a := range r {
				r[a] = v[a] + c[a]/(3*(math.Abs(c[a])+1))
			}
		}
	}
	return nil
}
