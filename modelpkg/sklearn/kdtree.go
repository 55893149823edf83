package sklearn

import (
	"fmt"
	"math"
	"sort"

	"github.com/modelvault/modelvault/internal/pickle"
)

// kdTree is a fitted sklearn.neighbors.KDTree, queried exactly as
// scikit-learn's depth-first query does, so that neighbors at equal
// distances are chosen as scikit-learn chooses them.
type kdTree struct {
	data      []float64 // n x d, as in the tree
	d         int
	idx       []int
	start     []int
	end       []int
	leaf      []bool
	lo, hi    []float64 // node_bounds[0], node_bounds[1]: nodes x d
	nodeCount int
}

func decodeKDTree(v pickle.Value, n, d int) (*kdTree, error) {
	o, err := asObj(v, "KDTree")
	if err != nil {
		return nil, err
	}
	st, ok := items(o.o.State)
	if !ok || len(st) < 4 {
		return nil, fmt.Errorf("%w: KDTree state is %s", ErrInvalidModel, typeName(o.o.State))
	}
	t := &kdTree{d: d}
	data, shape, err := toFloats(st[0])
	if err != nil || len(shape) != 2 || shape[0] != n || shape[1] != d {
		return nil, fmt.Errorf("%w: KDTree data of shape %v, want (%d, %d)", ErrInvalidModel, shape, n, d)
	}
	t.data = data
	idx, _, err := toFloats(st[1])
	if err != nil || len(idx) != n {
		return nil, fmt.Errorf("%w: KDTree idx_array", ErrInvalidModel)
	}
	for _, i := range idx {
		if i < 0 || i >= float64(n) {
			return nil, fmt.Errorf("%w: KDTree idx_array holds %v", ErrInvalidModel, i)
		}
		t.idx = append(t.idx, int(i))
	}
	nd, ok := st[2].(*pickle.Array)
	if !ok || len(nd.Shape) != 1 {
		return nil, fmt.Errorf("%w: KDTree node_data", ErrInvalidModel)
	}
	t.nodeCount = nd.Len()
	fields := map[string][]float64{}
	for _, name := range []string{"idx_start", "idx_end", "is_leaf"} {
		f, ok, err := field(nd, name)
		if err != nil || !ok {
			return nil, fmt.Errorf("%w: KDTree node_data has no %s", ErrInvalidModel, name)
		}
		fields[name] = f
	}
	for i := 0; i < t.nodeCount; i++ {
		s, e := fields["idx_start"][i], fields["idx_end"][i]
		if s < 0 || e < s || e > float64(n) {
			return nil, fmt.Errorf("%w: KDTree node %d spans [%v, %v)", ErrInvalidModel, i, s, e)
		}
		isLeaf := fields["is_leaf"][i] != 0
		if !isLeaf && 2*i+2 >= t.nodeCount {
			return nil, fmt.Errorf("%w: KDTree node %d has no children", ErrInvalidModel, i)
		}
		t.start, t.end, t.leaf = append(t.start, int(s)), append(t.end, int(e)), append(t.leaf, isLeaf)
	}
	b, bshape, err := toFloats(st[3])
	if err != nil || len(bshape) != 3 || bshape[0] != 2 || bshape[1] != t.nodeCount || bshape[2] != d {
		return nil, fmt.Errorf("%w: KDTree node_bounds of shape %v", ErrInvalidModel, bshape)
	}
	half := t.nodeCount * d
	t.lo, t.hi = b[:half], b[half:]
	return t, nil
}

// heap is scikit-learn's NeighborsHeap for one point: a max-heap of k
// (reduced distance, index) pairs.
type heap struct {
	dist []float64
	ind  []int
}

func (h *heap) push(val float64, i int) {
	dist, ind := h.dist, h.ind
	size := len(dist)
	if val >= dist[0] {
		return
	}
	j := 0
	for {
		c1 := 2*j + 1
		c2 := c1 + 1
		var swap int
		switch {
		case c1 >= size:
			goto done
		case c2 >= size:
			if dist[c1] > val {
				swap = c1
			} else {
				goto done
			}
		case dist[c1] >= dist[c2]:
			if val < dist[c1] {
				swap = c1
			} else {
				goto done
			}
		default:
			if val < dist[c2] {
				swap = c2
			} else {
				goto done
			}
		}
		dist[j], ind[j] = dist[swap], ind[swap]
		j = swap
	}
done:
	dist[j], ind[j] = val, i
}

func (m *kneighbors) rdist(x, y []float64) float64 {
	s := 0.0
	for j, v := range y {
		d := x[j] - v
		switch m.p {
		case 2:
			s += d * d
		case 1:
			s += math.Abs(d)
		default:
			s += math.Pow(math.Abs(d), m.p)
		}
	}
	return s
}

func (m *kneighbors) minRdist(node int, x []float64) float64 {
	t := m.tree
	r := 0.0
	for j := 0; j < t.d; j++ {
		dlo := t.lo[node*t.d+j] - x[j]
		dhi := x[j] - t.hi[node*t.d+j]
		d := (dlo + math.Abs(dlo)) + (dhi + math.Abs(dhi))
		h := 0.5 * d
		switch m.p {
		case 2:
			r += h * h
		case 1:
			r += h
		default:
			r += math.Pow(h, m.p)
		}
	}
	return r
}

func (m *kneighbors) queryNode(node int, x []float64, h *heap, lb float64, depth int) {
	t := m.tree
	if lb > h.dist[0] || depth > 64 {
		return
	}
	if t.leaf[node] {
		for i := t.start[node]; i < t.end[node]; i++ {
			p := t.idx[i]
			h.push(m.rdist(x, t.data[p*t.d:(p+1)*t.d]), p)
		}
		return
	}
	c1, c2 := 2*node+1, 2*node+2
	lb1, lb2 := m.minRdist(c1, x), m.minRdist(c2, x)
	if lb1 <= lb2 {
		m.queryNode(c1, x, h, lb1, depth+1)
		m.queryNode(c2, x, h, lb2, depth+1)
	} else {
		m.queryNode(c2, x, h, lb2, depth+1)
		m.queryNode(c1, x, h, lb1, depth+1)
	}
}

// treeNeighbors queries the KD tree: the k nearest (sorted) and their
// distances.
func (m *kneighbors) treeNeighbors(x []float64, idx []int, dist []float64) ([]int, []float64) {
	h := &heap{dist: dist[:m.k], ind: idx[:m.k]}
	for i := range h.dist {
		h.dist[i], h.ind[i] = math.Inf(1), 0
	}
	m.queryNode(0, x, h, m.minRdist(0, x), 0)
	sort.Sort(byDist{h})
	for i, r := range h.dist {
		switch m.p {
		case 2:
			h.dist[i] = math.Sqrt(r)
		case 1:
		default:
			h.dist[i] = math.Pow(r, 1/m.p)
		}
	}
	return h.ind, h.dist
}

type byDist struct{ h *heap }

func (b byDist) Len() int           { return len(b.h.dist) }
func (b byDist) Less(i, j int) bool { return b.h.dist[i] < b.h.dist[j] }
func (b byDist) Swap(i, j int) {
	b.h.dist[i], b.h.dist[j] = b.h.dist[j], b.h.dist[i]
	b.h.ind[i], b.h.ind[j] = b.h.ind[j], b.h.ind[i]
}
