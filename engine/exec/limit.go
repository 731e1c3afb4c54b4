package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Limit skips the first offset rows of its input, then passes on at most count rows (all of
// them when count < 0), slicing batches without copying. It stops pulling once it has enough.
type Limit struct {
	input         Operator
	offset, count int64
	out           arrow.RecordBatch
}

var _ Operator = (*Limit)(nil)

// NewLimit returns input with offset rows skipped and at most count rows kept.
func NewLimit(input Operator, offset, count int64) *Limit {
	return &Limit{input: input, offset: offset, count: count}
}

func (l *Limit) Schema() *arrow.Schema { return l.input.Schema() }

func (l *Limit) Open(ctx context.Context) error { return l.input.Open(ctx) }

func (l *Limit) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for l.count != 0 {
		b, err := l.input.Next(ctx)
		if err != nil {
			keep(&l.out, nil)
			return nil, err
		}
		if b == nil {
			break
		}
		n := b.NumRows()
		if l.offset >= n {
			l.offset -= n
			continue
		}
		end := n
		if l.count >= 0 && l.offset+l.count < n {
			end = l.offset + l.count
		}
		keep(&l.out, b.NewSlice(l.offset, end))
		if l.count > 0 {
			l.count -= end - l.offset
		}
		l.offset = 0
		return l.out, nil
	}
	keep(&l.out, nil)
	return nil, nil
}

func (l *Limit) Close() error {
	keep(&l.out, nil)
	return l.input.Close()
}
