// Package oracletest checks Koujing's answers against PostgreSQL's. A case is a metric query and
// the same question written as plain SQL over the demo tables; a surface under test runs the
// query its own way and Check compares its rows with what PostgreSQL returns for the SQL, over
// the same generated data: decimals exactly, ratios to fifteen digits, times as wall-clock times.
//
// The cases live in cases.yaml, readable without Go.
package oracletest

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/semantic"
)

//go:embed cases.yaml
var casesYAML []byte

// Case is one oracle case: a metric query and its plain-SQL equivalent.
type Case struct {
	Name  string `yaml:"name"`
	Query Query  `yaml:"query"`
	SQL   string `yaml:"sql"`
}

// Query is a metric query as the cases file writes it.
type Query struct {
	Metrics       []string `yaml:"metrics"`
	Dimensions    []string `yaml:"dimensions"`
	TimeDimension *struct {
		Dimension   string `yaml:"dimension"`
		Granularity string `yaml:"granularity"`
		FillGaps    bool   `yaml:"fill_gaps"`
	} `yaml:"time_dimension"`
	TimeRange *struct {
		Dimension string `yaml:"dimension"`
		From      string `yaml:"from"`
		To        string `yaml:"to"`
	} `yaml:"time_range"`
	Filters []struct {
		Dimension string   `yaml:"dimension"`
		Operator  string   `yaml:"operator"`
		Values    []string `yaml:"values"`
	} `yaml:"filters"`
	OrderBy []struct {
		Field string `yaml:"field"`
		Desc  bool   `yaml:"desc"`
	} `yaml:"order_by"`
	Limit    *int64 `yaml:"limit"`
	Offset   int64  `yaml:"offset"`
	Timezone string `yaml:"timezone"`
	Calendar string `yaml:"calendar"`
	Compare  []struct {
		Period  string   `yaml:"period"`
		Kinds   []string `yaml:"kinds"`
		Metrics []string `yaml:"metrics"`
	} `yaml:"compare"`
}

// MetricQuery returns the case's query as the semantic layer takes it.
func (q Query) MetricQuery() semantic.MetricQuery {
	mq := semantic.MetricQuery{Metrics: q.Metrics, Dimensions: q.Dimensions, Limit: q.Limit, Offset: q.Offset, Timezone: q.Timezone, Calendar: q.Calendar}
	if td := q.TimeDimension; td != nil {
		mq.TimeDimension = &semantic.TimeGrouping{Dimension: td.Dimension, Granularity: td.Granularity, FillGaps: td.FillGaps}
	}
	if tr := q.TimeRange; tr != nil {
		mq.TimeRange = &semantic.TimeRange{Dimension: tr.Dimension, From: tr.From, To: tr.To}
	}
	for _, f := range q.Filters {
		mq.Filters = append(mq.Filters, semantic.QueryFilter{Dimension: f.Dimension, Op: semantic.FilterOp(f.Operator), Values: f.Values})
	}
	for _, o := range q.OrderBy {
		mq.OrderBy = append(mq.OrderBy, semantic.OrderBy{Field: o.Field, Desc: o.Desc})
	}
	for _, c := range q.Compare {
		cmp := semantic.Comparison{Period: c.Period, Metrics: c.Metrics}
		for _, k := range c.Kinds {
			cmp.Kinds = append(cmp.Kinds, semantic.ComparisonKind(k))
		}
		mq.Compare = append(mq.Compare, cmp)
	}
	return mq
}

// Ordered reports whether the rows' order is part of the answer: when the query orders, limits
// or skips. Otherwise rows are compared as sets.
func (q Query) Ordered() bool { return len(q.OrderBy) > 0 || q.Limit != nil || q.Offset > 0 }

// Cases returns every oracle case.
func Cases(tb testing.TB) []Case {
	tb.Helper()
	var cases []Case
	if err := yaml.Unmarshal(casesYAML, &cases); err != nil {
		tb.Fatalf("oracle cases: %v", err)
	}
	return cases
}

// Value is one cell in a comparable form: nil, an exact number, a float, or text.
type Value struct {
	Null  bool
	Exact *big.Rat
	Float *float64
	Text  string
}

func (v Value) String() string {
	switch {
	case v.Null:
		return "NULL"
	case v.Exact != nil:
		return v.Exact.FloatString(6)
	case v.Float != nil:
		return fmt.Sprintf("%.15g", *v.Float)
	}
	return fmt.Sprintf("%q", v.Text)
}

// equal compares two cells: exact numbers exactly, a float with anything numeric to a relative
// 1e-12 (PostgreSQL divides numerics with more digits than a float holds), text as text.
func (v Value) equal(w Value) bool {
	switch {
	case v.Null || w.Null:
		return v.Null == w.Null
	case v.Exact != nil && w.Exact != nil:
		return v.Exact.Cmp(w.Exact) == 0
	case (v.Exact != nil || v.Float != nil) && (w.Exact != nil || w.Float != nil):
		a, b := v.float(), w.float()
		return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
	case v.Exact == nil && v.Float == nil && w.Exact == nil && w.Float == nil:
		return v.Text == w.Text
	}
	return false
}

func (v Value) float() float64 {
	if v.Float != nil {
		return *v.Float
	}
	f, _ := v.Exact.Float64()
	return f
}

// ResultRows converts a semantic result to comparable rows. Times become their wall-clock time
// in their own zone, as PostgreSQL's `ts AT TIME ZONE zone` gives it.
func ResultRows(tb testing.TB, r *semantic.Result) [][]Value {
	tb.Helper()
	var rows [][]Value
	for _, b := range r.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]Value, b.NumCols())
			for j, c := range b.Columns() {
				row[j] = arrowValue(tb, c, i)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func arrowValue(tb testing.TB, a arrow.Array, i int) Value {
	if a.IsNull(i) {
		return Value{Null: true}
	}
	switch x := a.(type) {
	case *array.Int64:
		return Value{Exact: new(big.Rat).SetInt64(x.Value(i))}
	case *array.Int32:
		return Value{Exact: new(big.Rat).SetInt64(int64(x.Value(i)))}
	case *array.Float64:
		f := x.Value(i)
		return Value{Float: &f}
	case *array.Decimal128:
		return Value{Exact: decimalRat(x.Value(i), x.DataType().(*arrow.Decimal128Type).Scale)}
	case *array.String:
		return Value{Text: x.Value(i)}
	case *array.Dictionary:
		return Value{Text: x.Dictionary().(*array.String).Value(x.GetValueIndex(i))}
	case *array.Boolean:
		return Value{Text: fmt.Sprint(x.Value(i))}
	case *array.Timestamp:
		loc, err := x.DataType().(*arrow.TimestampType).GetZone()
		if err != nil || loc == nil {
			loc = time.UTC
		}
		return Value{Text: time.UnixMicro(int64(x.Value(i))).In(loc).Format("2006-01-02 15:04:05.999999")}
	case *array.Date32:
		return Value{Text: x.Value(i).ToTime().Format(time.DateOnly)}
	}
	tb.Fatalf("oracle: cannot compare %s values", a.DataType())
	return Value{}
}

func decimalRat(v decimal128.Num, scale int32) *big.Rat {
	r := new(big.Rat).SetInt(v.BigInt())
	return r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
}

// SQLRows runs the oracle SQL with the demo schema first on the search path and returns its rows
// comparably. Timestamps without a zone (what `AT TIME ZONE` yields) are wall-clock times.
func SQLRows(tb testing.TB, pool *pgxpool.Pool, schema, sql string) [][]Value {
	tb.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		tb.Fatalf("oracle: %v", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET search_path TO "+quoteIdent(schema)); err != nil {
		tb.Fatalf("oracle: %v", err)
	}
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		tb.Fatalf("oracle SQL failed: %v\n%s", err, sql)
	}
	defer rows.Close()
	var out [][]Value
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			tb.Fatalf("oracle: %v", err)
		}
		row := make([]Value, len(vals))
		for j, v := range vals {
			row[j] = pgValue(tb, v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("oracle SQL failed: %v\n%s", err, sql)
	}
	return out
}

func pgValue(tb testing.TB, v any) Value {
	switch x := v.(type) {
	case nil:
		return Value{Null: true}
	case int64:
		return Value{Exact: new(big.Rat).SetInt64(x)}
	case int32:
		return Value{Exact: new(big.Rat).SetInt64(int64(x))}
	case float64:
		return Value{Float: &x}
	case pgtype.Numeric:
		if !x.Valid {
			return Value{Null: true}
		}
		r := new(big.Rat).SetInt(x.Int)
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(x.Exp))), nil))
		if x.Exp < 0 {
			r.Quo(r, p)
		} else {
			r.Mul(r, p)
		}
		return Value{Exact: r}
	case string:
		return Value{Text: x}
	case bool:
		return Value{Text: fmt.Sprint(x)}
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			// A date or a timestamp at midnight: the comparison below accepts either spelling.
			return Value{Text: x.Format("2006-01-02 15:04:05.999999")}
		}
		return Value{Text: x.Format("2006-01-02 15:04:05.999999")}
	}
	tb.Fatalf("oracle: cannot compare PostgreSQL value %v (%T)", v, v)
	return Value{}
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Compare reports, through tb, every difference between got (Koujing's rows) and want
// (PostgreSQL's). Unordered results are compared as sorted lists.
func Compare(tb testing.TB, got, want [][]Value, ordered bool) {
	tb.Helper()
	if !ordered {
		got, want = sorted(got), sorted(want)
	}
	if len(got) != len(want) {
		tb.Errorf("got %d rows, PostgreSQL has %d\n got: %s\nwant: %s", len(got), len(want), preview(got), preview(want))
		return
	}
	bad := 0
	for i := range got {
		if len(got[i]) != len(want[i]) {
			tb.Fatalf("row %d: got %d columns, PostgreSQL has %d", i, len(got[i]), len(want[i]))
		}
		for j := range got[i] {
			if !got[i][j].equal(want[i][j]) {
				got, want := normalizeDate(got[i][j]), normalizeDate(want[i][j])
				if got.equal(want) {
					continue
				}
				if bad++; bad <= 10 {
					tb.Errorf("row %d column %d: got %s, PostgreSQL has %s\n got row: %v\nwant row: %v", i, j, got, want, rowText(got), rowText(want))
				}
			}
		}
	}
}

// normalizeDate maps "2024-03-01 00:00:00" and "2024-03-01" to the same text, since a date
// dimension comes out of PostgreSQL's date_trunc as a timestamp.
func normalizeDate(v Value) Value {
	if v.Exact == nil && v.Float == nil && !v.Null {
		v.Text = strings.TrimSuffix(v.Text, " 00:00:00")
	}
	return v
}

func rowText(v Value) string { return v.String() }

func sorted(rows [][]Value) [][]Value {
	out := append([][]Value(nil), rows...)
	key := func(r []Value) string {
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = normalizeDate(v).String()
		}
		return strings.Join(parts, "\x00")
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func preview(rows [][]Value) string {
	var b strings.Builder
	for i, r := range rows {
		if i == 8 {
			fmt.Fprintf(&b, " … (%d more)", len(rows)-i)
			break
		}
		b.WriteString("\n  ")
		for j, v := range r {
			if j > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(v.String())
		}
	}
	return b.String()
}
