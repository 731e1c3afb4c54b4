package mcp

import (
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic/oracletest"
)

// TestQueryOracle runs every oracle case through query_metrics, as its JSON input, and compares
// the rows with PostgreSQL's answer to the case's SQL over the same data, and with the service's
// own answer, which GraphQL sends: the same numbers on every surface.
func TestQueryOracle(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.LoadDemo(t, pool, fixture.data)
	cs := connect(t, serveHTTP(t, Options{MaxRows: 100_000}, true), "")
	for _, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			var q QueryOutput
			callOK(t, cs, "query_metrics", c.Query.Input(), &q)
			if q.Truncated {
				t.Fatalf("the answer was cut at %d rows", q.RowCount)
			}
			got := rowValues(t, q)
			oracletest.Compare(t, got, oracletest.SQLRows(t, pool, schema, c.SQL), c.Query.Ordered())
			res, err := fixture.svc.Query(t.Context(), fixture.svc.Catalog().FullAccess(), c.Query.MetricQuery())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Release()
			oracletest.Compare(t, got, oracletest.ResultRows(t, res), true)
		})
	}
	checkNoLeak(t)
}

// rowValues converts query_metrics's rows to oracle values: numbers exactly as written (floats
// as floats, which PostgreSQL's numeric division matches to fifteen digits), times
// as their wall-clock time in their own zone (as PostgreSQL's AT TIME ZONE gives them), other
// text as it is.
func rowValues(t *testing.T, q QueryOutput) [][]oracletest.Value {
	t.Helper()
	out := make([][]oracletest.Value, len(q.Rows))
	for i, row := range q.Rows {
		out[i] = make([]oracletest.Value, len(row))
		for j, v := range row {
			switch v := v.(type) {
			case nil:
				out[i][j] = oracletest.Value{Null: true}
			case json.Number:
				if q.Columns[j].Type == "float" {
					f, err := v.Float64()
					if err != nil {
						t.Fatalf("row %d column %d: %q is not a float", i, j, v)
					}
					out[i][j] = oracletest.Value{Float: &f}
					continue
				}
				r, ok := new(big.Rat).SetString(v.String())
				if !ok {
					t.Fatalf("row %d column %d: %q is not a number", i, j, v)
				}
				out[i][j] = oracletest.Value{Exact: r}
			case bool:
				out[i][j] = oracletest.Value{Text: map[bool]string{true: "true", false: "false"}[v]}
			case string:
				if q.Columns[j].Type == "timestamp" {
					ts, err := time.Parse(time.RFC3339Nano, v)
					if err != nil {
						t.Fatalf("row %d column %d: %q is not an RFC 3339 time", i, j, v)
					}
					v = ts.Format("2006-01-02 15:04:05.999999")
				}
				out[i][j] = oracletest.Value{Text: v}
			default:
				t.Fatalf("row %d column %d: cannot compare %v (%T)", i, j, v, v)
			}
		}
	}
	return out
}
