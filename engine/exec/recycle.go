package exec

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Recycler is an allocator for one query that keeps the buffers its batches free and hands them
// out again. A pipeline frees a batch's buffers as soon as the next operator is done with them and
// then asks for buffers of the same sizes, so a recycled buffer is still in cache and costs
// neither an allocation nor the zeroing of fresh memory. Buffers of at least minRecycled bytes are
// rounded up to a power of two so that they fit each other. Safe for concurrent use.
//
// Close hands every kept buffer back to the parent; buffers freed after Close (those of a result
// that outlived its query) go straight to the parent.
type Recycler struct {
	parent memory.Allocator
	mu     sync.Mutex
	free   map[int][][]byte
	closed bool
}

const (
	minRecycled  = 4 << 10
	maxKeptPerSz = 64
)

// NewRecycler returns a recycling allocator over parent.
func NewRecycler(parent memory.Allocator) *Recycler {
	return &Recycler{parent: parent, free: map[int][][]byte{}}
}

func sizeClass(n int) int {
	if n < minRecycled {
		return n
	}
	return 1 << bits.Len(uint(n-1))
}

// Allocate returns a zeroed buffer of size bytes.
func (r *Recycler) Allocate(size int) []byte {
	class := sizeClass(size)
	if class == size && size < minRecycled {
		return r.parent.Allocate(size)
	}
	r.mu.Lock()
	list := r.free[class]
	if n := len(list); n > 0 {
		buf := list[n-1]
		r.free[class] = list[:n-1]
		r.mu.Unlock()
		buf = buf[:size]
		clear(buf)
		return buf
	}
	r.mu.Unlock()
	return r.parent.Allocate(class)[:size]
}

// Reallocate returns a buffer of size bytes holding buf's contents.
func (r *Recycler) Reallocate(size int, buf []byte) []byte {
	if !recycled(cap(buf)) && size < minRecycled {
		return r.parent.Reallocate(size, buf)
	}
	if recycled(cap(buf)) && cap(buf) >= size {
		old := len(buf)
		buf = buf[:size]
		if size > old {
			clear(buf[old:])
		}
		return buf
	}
	grown := r.Allocate(size)
	copy(grown, buf)
	r.Free(buf)
	return grown
}

// recycled reports whether a buffer of this capacity came from a size class.
func recycled(capacity int) bool {
	return capacity >= minRecycled && capacity&(capacity-1) == 0
}

// Free keeps buf for reuse, or returns it to the parent.
func (r *Recycler) Free(buf []byte) {
	class := cap(buf)
	if !recycled(class) {
		r.parent.Free(buf)
		return
	}
	r.mu.Lock()
	if !r.closed && len(r.free[class]) < maxKeptPerSz {
		r.free[class] = append(r.free[class], buf[:class])
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.parent.Free(buf[:class])
}

// Close returns every kept buffer to the parent.
func (r *Recycler) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for class, list := range r.free {
		for _, buf := range list {
			r.parent.Free(buf)
		}
		delete(r.free, class)
	}
}
