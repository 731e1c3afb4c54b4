package postgres_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/oracletest"
)

// maskEdgeValues are the values engine/exec's TestMask checks by hand (nil is NULL).
var maskEdgeValues = []any{
	nil, "", "a", "ab", "abc", "Wei Wang", "a*b", "李", "张三", "张三丰", "Ñandú", "e\u0301", "e\u0301x",
	"🙂", "a🙂b", "🙂👍🏽x", "👨‍👩‍👧", strings.Repeat("Zhang Wei 张伟 ", 100),
}

// maskScripts are the code point ranges maskValues draws characters from: ASCII with its quotes
// and backslash, Latin-1, Greek, Cyrillic, Hebrew, Arabic, Devanagari, combining accents,
// Hiragana, CJK, Hangul, emoji and skin tones, the zero-width joiner, and CJK beyond the BMP.
var maskScripts = [][2]rune{
	{' ', '~'}, {0xC0, 0xFF}, {0x391, 0x3C9}, {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x627, 0x64A},
	{0x905, 0x939}, {0x300, 0x36F}, {0x3041, 0x3096}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
	{0x1F600, 0x1F64F}, {0x1F3FB, 0x1F3FF}, {0x200D, 0x200D}, {0x20000, 0x2A6DF},
}

// maskValues returns the edge values and n generated ones: strings of 0 to 12 characters (a few
// of up to 300) mixing one to three scripts, some NULL, some repeating an earlier value.
func maskValues(n int) []any {
	rng := rand.New(rand.NewPCG(2024, 11))
	out := append([]any(nil), maskEdgeValues...)
	for range n {
		switch r := rng.IntN(20); {
		case r == 0:
			out = append(out, nil)
			continue
		case r <= 3:
			out = append(out, out[rng.IntN(len(out))])
			continue
		}
		scripts := make([][2]rune, 1+rng.IntN(3))
		for i := range scripts {
			scripts[i] = maskScripts[rng.IntN(len(maskScripts))]
		}
		length := rng.IntN(13)
		if rng.IntN(25) == 0 {
			length = rng.IntN(301)
		}
		var b strings.Builder
		for range length {
			s := scripts[rng.IntN(len(scripts))]
			b.WriteRune(s[0] + rng.Int32N(s[1]-s[0]+1))
		}
		out = append(out, b.String())
	}
	return out
}

// maskTable holds values as rows (id, v, d): v plain, d dictionary-encoded, in batches of 64
// rows with a dictionary each.
func maskTable(t *testing.T, mem memory.Allocator, values []any) *source.Table {
	t.Helper()
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: plan.Int64},
		{Name: "v", Type: plan.String, Nullable: true},
		{Name: "d", Type: dictType, Nullable: true},
	}, nil)
	var batches []arrow.RecordBatch
	for lo := 0; lo < len(values); lo += 64 {
		hi := min(lo+64, len(values))
		ids, strs := array.NewInt64Builder(mem), array.NewStringBuilder(mem)
		dict := array.NewDictionaryBuilder(mem, dictType).(*array.BinaryDictionaryBuilder)
		for i, v := range values[lo:hi] {
			ids.Append(int64(lo + i))
			if v == nil {
				strs.AppendNull()
				dict.AppendNull()
				continue
			}
			strs.Append(v.(string))
			if err := dict.AppendString(v.(string)); err != nil {
				t.Fatal(err)
			}
		}
		cols := []arrow.Array{ids.NewArray(), strs.NewArray(), dict.NewArray()}
		batches = append(batches, array.NewRecordBatch(schema, cols, int64(hi-lo)))
		for _, c := range cols {
			c.Release()
		}
		ids.Release()
		strs.Release()
		dict.Release()
	}
	tab, err := source.NewTable("masks", schema, batches)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		b.Release()
	}
	return tab
}

// oneTable resolves every scan to one in-memory table.
type oneTable struct{ table *source.Table }

func (o oneTable) Table(string, string) (*source.Table, error) { return o.table, nil }
func (oneTable) Warehouse(string) (*postgres.Connection, bool) { return nil, false }

// TestMaskOnPostgres masks the edge values and a few hundred generated ones, plain and
// dictionary-encoded, in the engine and in PostgreSQL running the statement BuildSQL makes of
// the same plan: the answers must be equal, and the hashes equal to PostgreSQL's md5().
func TestMaskOnPostgres(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	var encoding string
	if err := pool.QueryRow(ctx, "SHOW server_encoding").Scan(&encoding); err != nil {
		t.Fatal(err)
	}
	if encoding != "UTF8" {
		t.Fatalf("the test database's encoding is %s: md5 and char_length see UTF-8 only in a UTF8 database", encoding)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tab := maskTable(t, mem, maskValues(400))
	defer tab.Release()
	schema := pgtest.NewSchema(t, pool)
	if _, err := postgres.CopyTable(ctx, pool, schema, "masks", tab); err != nil {
		t.Fatal(err)
	}

	scan := must(plan.NewScan("warehouse", "masks", "m", tab.Schema(), []string{"id", "v", "d"}, nil))
	mask := func(column string, kind plan.MaskKind) plan.Expr { return must(plan.NewMask(col(scan, column), kind)) }
	p := project(scan,
		named("id", col(scan, "m.id")),
		named("hash", mask("m.v", plan.MaskHash)),
		named("partial", mask("m.v", plan.MaskPartial)),
		named("dict_hash", mask("m.d", plan.MaskHash)),
		named("dict_partial", mask("m.d", plan.MaskPartial)),
	)
	res, err := engine.New(oneTable{tab}, engine.Options{Allocator: mem, BatchRows: 100}).Execute(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	got := oracletest.ResultRows(t, &semantic.Result{Batches: res.Batches})
	if len(got) != int(tab.NumRows()) {
		t.Fatalf("the engine returned %d rows of %d", len(got), tab.NumRows())
	}

	t.Run("statement", func(t *testing.T) {
		stmt, err := postgres.BuildSQL(p)
		if err != nil {
			t.Fatal(err)
		}
		oracletest.Compare(t, got, runStatement(t, pool, schema, stmt, pgArgs(t, stmt.Params)), false)
		if t.Failed() {
			t.Logf("statement:\n%s", goldenSQL(stmt))
		}
	})
	t.Run("md5", func(t *testing.T) {
		hashes := make([][]oracletest.Value, len(got))
		for i, row := range got {
			hashes[i] = []oracletest.Value{row[0], row[1], row[3]}
		}
		oracletest.Compare(t, hashes, oracletest.SQLRows(t, pool, schema, "SELECT id, md5(v), md5(d) FROM masks"), false)
	})
}
