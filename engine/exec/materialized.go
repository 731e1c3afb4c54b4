package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// materialized is the output side of an operator that computes its whole result when it opens
// (a sort, a lookup, a time spine): it hands the result out in slices of the batch size, each
// borrowed until the next call, and releases it on Close.
type materialized struct {
	env    *Env
	result arrow.RecordBatch
	pos    int64
	out    arrow.RecordBatch
}

// Next returns the next slice of the result, or nil at its end.
func (m *materialized) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.result == nil || m.pos >= m.result.NumRows() {
		keep(&m.out, nil)
		return nil, nil
	}
	end := min(m.pos+int64(m.env.BatchSize()), m.result.NumRows())
	keep(&m.out, m.result.NewSlice(m.pos, end))
	m.pos = end
	return m.out, nil
}

// Close releases the result and the slice handed out last.
func (m *materialized) Close() error {
	keep(&m.out, nil)
	if m.result != nil {
		m.result.Release()
		m.result = nil
	}
	return nil
}

// collectOne runs input to the end (opening and closing it) and returns all its rows as one
// batch, which the caller releases.
func collectOne(ctx context.Context, env *Env, input Operator) (arrow.RecordBatch, error) {
	batches, err := Collect(ctx, input)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	return concatBatches(env, input.Schema(), batches)
}
