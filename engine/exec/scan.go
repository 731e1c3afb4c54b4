package exec

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/source"
)

// Morsels hands out the batches of a table to the scans of parallel pipelines, each batch to
// exactly one of them. It is safe for concurrent use.
type Morsels struct {
	table *source.Table
	next  atomic.Int64
}

// NewMorsels returns a dispenser of t's batches.
func NewMorsels(t *source.Table) *Morsels {
	ShareDictionaries(t.Batches())
	return &Morsels{table: t}
}

// dictionaryMu serialises ShareDictionaries.
var dictionaryMu sync.Mutex

// ShareDictionaries prepares the dictionary columns of batches that several goroutines will
// read: arrow's Dictionary() builds its values array on first use without synchronisation, so
// concurrent first uses race. Calling it here, under a lock, orders every later read after the
// one write. Tables are shared by concurrent queries, build sides by parallel probes, cached
// results by the callers they are served to.
func ShareDictionaries(batches []arrow.RecordBatch) {
	dictionaryMu.Lock()
	defer dictionaryMu.Unlock()
	for _, b := range batches {
		for _, c := range b.Columns() {
			if d, ok := c.(*array.Dictionary); ok {
				d.Dictionary()
			}
		}
	}
}

func (m *Morsels) take() arrow.RecordBatch {
	i := m.next.Add(1) - 1
	if i >= int64(len(m.table.Batches())) {
		return nil
	}
	return m.table.Batches()[i]
}

// TableScan yields the batches of an in-memory table, projected to some of its columns and
// renamed to the scan's schema, without copying any data.
type TableScan struct {
	schema  *arrow.Schema
	columns []int
	morsels *Morsels
	out     arrow.RecordBatch
}

var _ Operator = (*TableScan)(nil)

// NewTableScan returns a scan of the table's columns at the given indices, as schema (which must
// have the same types). Scans sharing morsels split the table between them.
func NewTableScan(morsels *Morsels, columns []int, schema *arrow.Schema) (*TableScan, error) {
	ts := morsels.table.Schema()
	if len(columns) != schema.NumFields() {
		return nil, fmt.Errorf("scan of %s: %d columns for a schema of %d", morsels.table.Name(), len(columns), schema.NumFields())
	}
	for i, c := range columns {
		if c < 0 || c >= ts.NumFields() || !arrow.TypeEqual(ts.Field(c).Type, schema.Field(i).Type) {
			return nil, fmt.Errorf("scan of %s: column %d does not match %s", morsels.table.Name(), c, schema.Field(i).Name)
		}
	}
	return &TableScan{schema: schema, columns: columns, morsels: morsels}, nil
}

func (s *TableScan) Schema() *arrow.Schema { return s.schema }

func (s *TableScan) Open(context.Context) error { return nil }

func (s *TableScan) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := s.morsels.take()
	if b == nil {
		keep(&s.out, nil)
		return nil, nil
	}
	cols := make([]arrow.Array, len(s.columns))
	for i, c := range s.columns {
		cols[i] = b.Column(c)
	}
	keep(&s.out, array.NewRecordBatch(s.schema, cols, b.NumRows()))
	return s.out, nil
}

func (s *TableScan) Close() error {
	keep(&s.out, nil)
	return nil
}

// Table returns the table the morsels come from.
func (m *Morsels) Table() *source.Table { return m.table }
