package demodata

import (
	"hash/fnv"
	"math/rand/v2"
)

// newRand returns the random stream of one chunk of one table. Every chunk has its own stream,
// derived only from the table's name and the chunk's index, so a chunk's rows do not depend on
// which goroutine generates it or when.
func newRand(stream string, chunk int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(h.Sum64(), uint64(chunk)))
}

// weights draws an index with probability proportional to fixed integer weights.
type weights struct {
	cumulative []uint64
}

func newWeights(w ...uint32) weights {
	c := make([]uint64, len(w))
	var sum uint64
	for i, x := range w {
		sum += uint64(x)
		c[i] = sum
	}
	return weights{cumulative: c}
}

func (w weights) pick(r *rand.Rand) int {
	// Scale 32 random bits to [0, total) by multiplication, with a bias of total/2³² that the
	// data cannot show, and count the bounds at or below the draw without branches, which
	// would be mispredicted half of the time.
	last := len(w.cumulative) - 1
	x := (r.Uint64() >> 32) * w.cumulative[last] >> 32
	i := 0
	for _, c := range w.cumulative[:last] {
		if x >= c {
			i++
		}
	}
	return i
}

// skewedPicker draws ids in 1..n so that a few are drawn very often and, if active < n, some
// are never drawn. Rank r in [0, active) is drawn with density falling as 1/sqrt(r), then mapped
// to an id by a fixed permutation, so popularity is not tied to the id's order.
type skewedPicker struct {
	n, active uint64
	mul, add  uint64
}

func newSkewedPicker(n, active int) skewedPicker {
	// n < 2³² (MaxScale keeps it far below), so rank·mul + add cannot overflow.
	p := skewedPicker{n: uint64(n), active: uint64(max(1, min(active, n)))}
	// Any multiplier coprime with n makes rank -> (rank*mul + add) mod n a permutation.
	p.mul = 2654435761 % p.n
	for gcd(p.mul, p.n) != 1 {
		p.mul++
	}
	p.add = 40503 % p.n
	return p
}

func (p skewedPicker) pick(r *rand.Rand) int64 {
	u := r.Float64()
	rank := min(uint64(float64(p.active)*u*u), p.active-1)
	return int64((rank*p.mul+p.add)%p.n) + 1
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
