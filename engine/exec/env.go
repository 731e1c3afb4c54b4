package exec

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchRows is how many rows operators put in a batch they build themselves.
const DefaultBatchRows = 64 * 1024

// ErrMemoryLimit is returned when a query needs more memory than its budget allows.
var ErrMemoryLimit = errors.New("query exceeds its memory limit")

// Env is what the operators of one query share: the allocator their arrays come from, and the
// budget that both those arrays and the Go-heap structures of hash tables are charged to.
type Env struct {
	// Mem allocates every array; wrap it with NewBudget's allocator to cap a query.
	Mem memory.Allocator
	// Budget, when set, is charged for hash tables and other Go-heap state. Nil means no cap.
	Budget *Budget
	// BatchRows is the size of batches operators build; zero means DefaultBatchRows.
	BatchRows int
}

// BatchSize returns how many rows operators put in a batch they build: BatchRows, or
// DefaultBatchRows when it is zero.
func (e *Env) BatchSize() int {
	if e.BatchRows > 0 {
		return e.BatchRows
	}
	return DefaultBatchRows
}

// reserve charges n bytes to the budget, if there is one.
func (e *Env) reserve(n int64) error {
	if e.Budget == nil {
		return nil
	}
	return e.Budget.Reserve(n)
}

// Budget caps the memory of one query. Its Allocator charges Arrow buffers; Reserve charges
// other structures. It is safe for concurrent use by the query's goroutines.
type Budget struct {
	limit int64
	used  atomic.Int64
	peak  atomic.Int64
	mem   memory.Allocator
}

// NewBudget returns a budget of limit bytes over the parent allocator.
func NewBudget(parent memory.Allocator, limit int64) *Budget {
	return &Budget{limit: limit, mem: parent}
}

// Reserve charges n bytes, or returns ErrMemoryLimit (charging nothing) when that would exceed
// the limit.
func (b *Budget) Reserve(n int64) error {
	used := b.used.Add(n)
	if used > b.limit {
		b.used.Add(-n)
		return fmt.Errorf("%w of %d MiB", ErrMemoryLimit, b.limit>>20)
	}
	for {
		p := b.peak.Load()
		if used <= p || b.peak.CompareAndSwap(p, used) {
			break
		}
	}
	return nil
}

// Release returns n bytes charged earlier.
func (b *Budget) Release(n int64) { b.used.Add(-n) }

// Used returns the bytes charged now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Peak returns the most bytes charged at any one time.
func (b *Budget) Peak() int64 { return b.peak.Load() }

// Allocator returns an allocator that charges the budget for every buffer. Arrow's builders
// cannot return errors, so past the limit it panics with an error wrapping ErrMemoryLimit;
// the engine recovers that panic at the query's boundary (see RecoverMemoryLimit).
func (b *Budget) Allocator() memory.Allocator { return &budgetAllocator{b: b} }

type budgetAllocator struct{ b *Budget }

func (a *budgetAllocator) Allocate(size int) []byte {
	if err := a.b.Reserve(int64(size)); err != nil {
		panic(memoryLimitPanic{err})
	}
	return a.b.mem.Allocate(size)
}

func (a *budgetAllocator) Reallocate(size int, buf []byte) []byte {
	if err := a.b.Reserve(int64(size - len(buf))); err != nil {
		panic(memoryLimitPanic{err})
	}
	return a.b.mem.Reallocate(size, buf)
}

func (a *budgetAllocator) Free(buf []byte) {
	a.b.Release(int64(len(buf)))
	a.b.mem.Free(buf)
}

type memoryLimitPanic struct{ err error }

// memoryLimitPanic is an error too, so that code that recovers panics and returns them as
// wrapped errors (arrow's Concatenate does) keeps ErrMemoryLimit visible to errors.Is.
func (p memoryLimitPanic) Error() string { return p.err.Error() }
func (p memoryLimitPanic) Unwrap() error { return p.err }

// RecoverMemoryLimit turns a panic raised by a budget's allocator into an error stored in *err;
// other panics continue. Use it as `defer exec.RecoverMemoryLimit(&err)` where a query's
// operators run, including in every goroutine they start.
func RecoverMemoryLimit(err *error) {
	if r := recover(); r != nil {
		if p, ok := r.(memoryLimitPanic); ok {
			*err = p.err
			return
		}
		panic(r)
	}
}
