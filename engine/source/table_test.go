package source

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestBatchBytesCountsSharedBuffersOnce cuts one array into ten batches, as a sort's output is
// cut: the batches hold the array's buffer once, and BatchBytes must say so, not ten times over.
func TestBatchBytesCountsSharedBuffersOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := range 1000 {
		b.Append(int64(i))
	}
	whole := b.NewInt64Array()
	defer whole.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var batches []arrow.RecordBatch
	for i := int64(0); i < 1000; i += 100 {
		part := array.NewSlice(whole, i, i+100)
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{part}, 100))
		part.Release()
	}
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	want := int64(0)
	for _, buf := range whole.Data().Buffers() {
		if buf != nil {
			want += int64(buf.Len())
		}
	}
	if got := BatchBytes(batches); got != want {
		t.Errorf("ten slices of one array hold %d bytes, want the array's %d", got, want)
	}
	if got := BatchBytes(batches[:1]); got != want {
		t.Errorf("one slice holds the whole buffer alive: %d bytes, want %d", got, want)
	}
}
