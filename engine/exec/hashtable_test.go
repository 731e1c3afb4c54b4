package exec

import (
	"math/rand/v2"
	"testing"
)

// TestPairIndexKeepsIDsAcrossRehash interns pairs until the direct table gives way to a hash
// table, and checks that every pair keeps the id it was first given, in first-seen order.
func TestPairIndexKeepsIDsAcrossRehash(t *testing.T) {
	p := newPairIndex(&Env{})
	rng := rand.New(rand.NewPCG(1, 2))
	type pair struct{ l, r uint32 }
	ids := map[pair]uint32{}
	var order []pair
	check := func(stage string) {
		t.Helper()
		for i, pr := range order {
			id, err := p.intern(pr.l, pr.r)
			if err != nil {
				t.Fatal(err)
			}
			if id != uint32(i) {
				t.Fatalf("%s: pair %v has id %d, want %d", stage, pr, id, i)
			}
		}
	}
	add := func(l, r uint32) {
		pr := pair{l, r}
		if _, ok := ids[pr]; ok {
			return
		}
		id, err := p.intern(l, r)
		if err != nil {
			t.Fatal(err)
		}
		if id != uint32(len(order)) {
			t.Fatalf("new pair %v got id %d, want %d", pr, id, len(order))
		}
		ids[pr] = id
		order = append(order, pr)
	}
	for i := 0; i < 5000; i++ {
		add(uint32(rng.IntN(40)), uint32(rng.IntN(60)))
	}
	if p.hashed != nil {
		t.Fatal("small codes should stay in the direct table")
	}
	check("direct")
	// Wide rows push the table past its size limit.
	for l := uint32(0); l < 40; l++ {
		add(l, maxPairCells/16+l)
	}
	if p.hashed == nil {
		t.Fatal("large codes should have moved the pairs to a hash table")
	}
	check("hashed")
	// Many left codes move a direct table to hashing too.
	q := newPairIndex(&Env{})
	for l := uint32(0); l <= maxPairRows; l++ {
		if id, err := q.intern(l, 1); err != nil || id != l {
			t.Fatalf("pair (%d, 1): id %d, %v", l, id, err)
		}
	}
	if q.hashed == nil {
		t.Fatal("more left codes than a direct table holds should have moved the pairs to a hash table")
	}
	if p.hashed == nil {
		t.Fatal("large codes should have moved the pairs to a hash table")
	}
	check("hashed")
	for i := 0; i < 2000; i++ {
		add(uint32(rng.IntN(1<<20)), uint32(rng.IntN(1<<30)))
	}
	check("hashed, more pairs")
}
