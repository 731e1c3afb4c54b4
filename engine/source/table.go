// Package source holds the data the engine scans: immutable in-memory tables of Arrow record
// batches, and readers that build them from CSV and Parquet files.
package source

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Table is an immutable in-memory table: a schema and record batches that all have it.
//
// A Table is safe for concurrent readers. Batches handed out by Batches are borrowed: they stay
// valid until Release is called on the table, and a reader that keeps one past that retains it.
type Table struct {
	name    string
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	rows    int64
}

// NewTable returns a table over batches, which must all have schema. It retains every batch; the
// caller keeps its own references and releases them as usual.
func NewTable(name string, schema *arrow.Schema, batches []arrow.RecordBatch) (*Table, error) {
	t := &Table{name: name, schema: schema, batches: make([]arrow.RecordBatch, 0, len(batches))}
	for i, b := range batches {
		if !b.Schema().Equal(schema) {
			return nil, fmt.Errorf("table %s: batch %d has schema %s, want %s", name, i, b.Schema(), schema)
		}
		t.rows += b.NumRows()
	}
	for _, b := range batches {
		b.Retain()
		t.batches = append(t.batches, b)
	}
	return t, nil
}

// Name returns the table's name, as models refer to it.
func (t *Table) Name() string { return t.name }

// Schema returns the table's schema.
func (t *Table) Schema() *arrow.Schema { return t.schema }

// NumRows returns the number of rows over all batches.
func (t *Table) NumRows() int64 { return t.rows }

// SizeBytes returns the bytes the table's buffers hold; a dictionary shared by batches counts
// once.
func (t *Table) SizeBytes() int64 { return BatchBytes(t.batches) }

// BatchBytes returns the bytes the buffers of batches hold (their lengths, as arrays use them),
// counting once an array or dictionary that several batches share.
func BatchBytes(batches []arrow.RecordBatch) int64 {
	// Batches cut from one larger array (a sort's output, a slice) share its buffers: each
	// buffer counts once, as it is held once.
	seen := map[arrow.ArrayData]bool{}
	seenBuf := map[*memory.Buffer]bool{}
	var size func(d arrow.ArrayData) int64
	size = func(d arrow.ArrayData) int64 {
		if d == nil || seen[d] {
			return 0
		}
		seen[d] = true
		var n int64
		for _, b := range d.Buffers() {
			if b != nil && !seenBuf[b] {
				seenBuf[b] = true
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			n += size(c)
		}
		if d.DataType().ID() == arrow.DICTIONARY {
			n += size(d.Dictionary())
		}
		return n
	}
	var total int64
	for _, b := range batches {
		for _, c := range b.Columns() {
			total += size(c.Data())
		}
	}
	return total
}

// Batches returns the table's record batches. The slice and the batches are borrowed; see Table.
func (t *Table) Batches() []arrow.RecordBatch { return t.batches }

// Release releases the table's references to its batches. The table must not be used after.
func (t *Table) Release() {
	for _, b := range t.batches {
		b.Release()
	}
	t.batches = nil
}
