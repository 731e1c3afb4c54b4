package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestRecycler(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := NewRecycler(mem)

	big := r.Allocate(10_000)
	if len(big) != 10_000 || cap(big) != 16384 {
		t.Fatalf("len %d cap %d; want 10000 in a 16 KiB class", len(big), cap(big))
	}
	for i := range big {
		big[i] = 0xAB
	}
	r.Free(big)
	again := r.Allocate(12_000)
	if &again[0] != &big[0] {
		t.Error("a buffer of the same class was not reused")
	}
	for i, b := range again {
		if b != 0 {
			t.Fatalf("reused buffer not zeroed at %d", i)
		}
	}

	small := r.Allocate(100)
	small = r.Reallocate(300, small)
	if len(small) != 300 {
		t.Fatalf("small reallocation: len %d", len(small))
	}
	grown := r.Reallocate(20_000, small)
	if len(grown) != 20_000 || cap(grown) != 32768 {
		t.Fatalf("growing past the threshold: len %d cap %d", len(grown), cap(grown))
	}
	shrunk := r.Reallocate(17_000, grown)
	if &shrunk[0] != &grown[0] || len(shrunk) != 17_000 {
		t.Error("shrinking within a class should keep the buffer")
	}
	extended := r.Reallocate(30_000, shrunk)
	for i := 17_000; i < 30_000; i++ {
		if extended[i] != 0 {
			t.Fatalf("extension not zeroed at %d", i)
		}
	}
	r.Free(extended)
	r.Free(again)

	kept := r.Allocate(5000)
	r.Close()
	// A result's buffers outlive the query: freed after Close, they go back to the parent.
	r.Free(kept)
}
