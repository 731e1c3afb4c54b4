package exec

import "math/bits"

// internMap assigns dense ids 0, 1, 2, … to uint64 keys in the order they are first seen. It is
// an open-addressing table with linear probing and Fibonacci hashing, sized to a power of two and
// kept at most half full; it remembers the last key, because runs of equal keys are common.
type internMap struct {
	keys  []uint64
	slots []uint32 // id+1, or 0 for an empty slot
	shift uint
	n     int
	last  uint64
	lastI uint32
	valid bool
	env   *Env
}

const fibonacci = 0x9E3779B97F4A7C15

func newInternMap(env *Env) *internMap {
	m := &internMap{env: env}
	m.init(16)
	return m
}

func (m *internMap) init(capacity int) {
	m.keys = make([]uint64, capacity)
	m.slots = make([]uint32, capacity)
	m.shift = uint(64 - bits.TrailingZeros(uint(capacity)))
}

// len returns how many keys have ids.
func (m *internMap) len() int { return m.n }

// intern returns k's id, giving it the next one if it has none.
func (m *internMap) intern(k uint64) (uint32, error) {
	if m.valid && k == m.last {
		return m.lastI, nil
	}
	mask := uint64(len(m.slots) - 1)
	for i := (k * fibonacci) >> m.shift; ; i = (i + 1) & mask {
		s := m.slots[i]
		if s == 0 {
			if 2*(m.n+1) > len(m.slots) {
				if err := m.grow(); err != nil {
					return 0, err
				}
				return m.intern(k)
			}
			m.keys[i] = k
			m.slots[i] = uint32(m.n + 1)
			m.n++
			m.last, m.lastI, m.valid = k, uint32(m.n-1), true
			return uint32(m.n - 1), nil
		}
		if m.keys[i] == k {
			m.last, m.lastI, m.valid = k, s-1, true
			return s - 1, nil
		}
	}
}

// find returns k's id, if it has one.
func (m *internMap) find(k uint64) (uint32, bool) {
	mask := uint64(len(m.slots) - 1)
	for i := (k * fibonacci) >> m.shift; ; i = (i + 1) & mask {
		s := m.slots[i]
		if s == 0 {
			return 0, false
		}
		if m.keys[i] == k {
			return s - 1, true
		}
	}
}

func (m *internMap) grow() error {
	capacity := 2 * len(m.slots)
	if err := m.env.reserve(int64(capacity) * 12 / 2); err != nil {
		return err
	}
	keys, slots := m.keys, m.slots
	m.init(capacity)
	mask := uint64(capacity - 1)
	for j, s := range slots {
		if s == 0 {
			continue
		}
		k := keys[j]
		i := (k * fibonacci) >> m.shift
		for m.slots[i] != 0 {
			i = (i + 1) & mask
		}
		m.keys[i], m.slots[i] = k, s
	}
	return nil
}

// pairSet is a set of (group, value) pairs, counting per group how many distinct values it has
// seen: the state of count_distinct. Open addressing, linear probing, at most half full.
type pairSet struct {
	groups []uint32 // group+1, or 0 for an empty slot
	vals   []uint64
	shift  uint
	n      int
	env    *Env
}

func newPairSet(env *Env) *pairSet {
	s := &pairSet{env: env}
	s.init(16)
	return s
}

func (s *pairSet) init(capacity int) {
	s.groups = make([]uint32, capacity)
	s.vals = make([]uint64, capacity)
	s.shift = uint(64 - bits.TrailingZeros(uint(capacity)))
}

func pairHash(g uint32, v uint64) uint64 {
	return (v ^ uint64(g)*0xC2B2AE3D27D4EB4F) * fibonacci
}

// add inserts (g, v) and reports whether it was new.
func (s *pairSet) add(g uint32, v uint64) (bool, error) {
	mask := uint64(len(s.groups) - 1)
	for i := pairHash(g, v) >> s.shift; ; i = (i + 1) & mask {
		switch s.groups[i] {
		case 0:
			if 2*(s.n+1) > len(s.groups) {
				if err := s.grow(); err != nil {
					return false, err
				}
				return s.add(g, v)
			}
			s.groups[i], s.vals[i] = g+1, v
			s.n++
			return true, nil
		case g + 1:
			if s.vals[i] == v {
				return false, nil
			}
		}
	}
}

func (s *pairSet) grow() error {
	capacity := 2 * len(s.groups)
	if err := s.env.reserve(int64(capacity) * 12 / 2); err != nil {
		return err
	}
	groups, vals := s.groups, s.vals
	s.init(capacity)
	mask := uint64(capacity - 1)
	for j, g := range groups {
		if g == 0 {
			continue
		}
		i := pairHash(g-1, vals[j]) >> s.shift
		for s.groups[i] != 0 {
			i = (i + 1) & mask
		}
		s.groups[i], s.vals[i] = g, vals[j]
	}
	return nil
}

// each calls fn for every pair in the set.
func (s *pairSet) each(fn func(g uint32, v uint64) error) error {
	for i, g := range s.groups {
		if g != 0 {
			if err := fn(g-1, s.vals[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// pairIndex gives dense ids 0, 1, 2, … to pairs of small codes, in the order first seen: how two
// group key columns (or a combination so far and the next column) become one id. While the codes
// are small it is a table indexed by both codes — two loads, no hashing — and past a size it moves
// its pairs into an internMap.
type pairIndex struct {
	rows   [][]uint32 // rows[left][right] = id+1, or 0
	cells  int
	hashed *internMap
	n      int
	env    *Env
}

// The direct table is used while the left codes stay below maxPairRows and the table below
// maxPairCells ids (4 MiB); larger key spaces are hashed.
const (
	maxPairRows  = 1 << 12
	maxPairCells = 1 << 20
)

func newPairIndex(env *Env) *pairIndex { return &pairIndex{env: env} }

// intern returns the id of (left, right), giving it the next one if it has none.
func (p *pairIndex) intern(left, right uint32) (uint32, error) {
	if p.hashed != nil {
		return p.hashed.intern(uint64(left)<<32 | uint64(right))
	}
	if int(left) < len(p.rows) {
		if row := p.rows[left]; int(right) < len(row) && row[right] != 0 {
			return row[right] - 1, nil
		}
	}
	if err := p.makeRoom(left, right); err != nil {
		return 0, err
	}
	if p.hashed != nil {
		return p.hashed.intern(uint64(left)<<32 | uint64(right))
	}
	p.rows[left][right] = uint32(p.n + 1)
	p.n++
	return uint32(p.n - 1), nil
}

// makeRoom grows the table to hold (left, right), or moves everything to a hash table when that
// would make the table too big.
func (p *pairIndex) makeRoom(left, right uint32) error {
	if left >= maxPairRows {
		return p.toHash()
	}
	if int(left) >= len(p.rows) {
		p.rows = growTo(p.rows, int(left)+1)
	}
	row := p.rows[left]
	if int(right) < len(row) {
		return nil
	}
	size := max(int(right)+1, 2*len(row), 8)
	if p.cells+size-len(row) > maxPairCells {
		return p.toHash()
	}
	if err := p.env.reserve(int64(size-len(row)) * 4); err != nil {
		return err
	}
	p.cells += size - len(row)
	grown := make([]uint32, size)
	copy(grown, row)
	p.rows[left] = grown
	return nil
}

// toHash moves every pair, keeping its id, into an internMap.
func (p *pairIndex) toHash() error {
	m := newInternMap(p.env)
	byID := make([]uint64, p.n)
	for left, row := range p.rows {
		for right, id := range row {
			if id != 0 {
				byID[id-1] = uint64(left)<<32 | uint64(right)
			}
		}
	}
	for _, key := range byID {
		if _, err := m.intern(key); err != nil {
			return err
		}
	}
	p.hashed, p.rows = m, nil
	return nil
}
