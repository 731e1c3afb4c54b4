// Package exec is Koujing's vectorised executor: physical operators that pull Arrow record batches
// from their inputs and compute whole columns per call, with typed loops over buffers rather
// than per-row interfaces.
//
// Every array is allocated through the query's allocator (Env.Mem), and every operator releases
// what it made; tests run with a checked allocator and assert that nothing is left.
package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Operator is a vectorised physical operator: a pull-based iterator over record batches.
//
// The caller calls Open once, then Next until it returns a nil batch (the end) or an error, then
// Close exactly once — also after an error, or when it stops early. The batch Next returns is
// borrowed: it stays valid until the next call to Next or Close, and a caller that keeps it
// longer must Retain it (and later Release it). One goroutine uses an operator at a time;
// operators of parallel pipelines are separate instances.
type Operator interface {
	// Schema is the schema of every batch Next returns.
	Schema() *arrow.Schema
	// Open prepares the operator and opens its inputs.
	Open(ctx context.Context) error
	// Next returns the next batch, or nil at the end.
	Next(ctx context.Context) (arrow.RecordBatch, error)
	// Close releases everything the operator holds and closes its inputs.
	Close() error
}

// Collect runs op to the end and returns every batch it produced, retained; the caller releases
// them. Collect opens and closes op.
func Collect(ctx context.Context, op Operator) (batches []arrow.RecordBatch, err error) {
	defer func() {
		if cerr := op.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			for _, b := range batches {
				b.Release()
			}
			batches = nil
		}
	}()
	if err = op.Open(ctx); err != nil {
		return nil, err
	}
	for {
		b, err := op.Next(ctx)
		if err != nil {
			return batches, err
		}
		if b == nil {
			return batches, nil
		}
		b.Retain()
		batches = append(batches, b)
	}
}

// keep replaces *slot with b, releasing what *slot held: how operators keep the batch they
// returned last (their output is borrowed until the next call).
func keep(slot *arrow.RecordBatch, b arrow.RecordBatch) {
	if *slot != nil {
		(*slot).Release()
	}
	*slot = b
}
