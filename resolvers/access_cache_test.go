package resolvers

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/oracletest"
)

// cachedService returns a server over the fixture's catalog and sources whose engine keeps
// results, and the engine, whose cache is released and memory checked when the test ends.
func cachedService(t *testing.T) (*httptest.Server, *engine.Engine) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	eng := engine.New(fixture.src, engine.Options{Allocator: mem, Cache: engine.CacheOptions{MaxBytes: 64 << 20}})
	t.Cleanup(func() {
		eng.Close()
		mem.AssertSize(t, 0)
	})
	return server(t, mustService(t, fixture.demo.Catalog(), eng, semantic.ServiceOptions{}), HandlerOptions{}), eng
}

// cacheUse is what the engine's cache did for one request.
type cacheUse struct{ hits, misses int64 }

// askCounting runs a metric query as the token's caller and returns its rows and what the cache
// did for it.
func askCounting(t *testing.T, srv *httptest.Server, eng *engine.Engine, tok string, in map[string]any) ([][]oracletest.Value, cacheUse) {
	t.Helper()
	before := eng.CacheStats()
	rows := queryRows(t, srv, tok, in)
	after := eng.CacheStats()
	return rows, cacheUse{hits: after.Hits - before.Hits, misses: after.Misses + after.Shared - before.Misses - before.Shared}
}

// rowsText is rows as sorted lines of text, to tell two answers apart.
func rowsText(rows [][]oracletest.Value) []string {
	out := make([]string, len(rows))
	for i, row := range rows {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = v.String()
		}
		out[i] = strings.Join(cells, " | ")
	}
	slices.Sort(out)
	return out
}

// TestCacheKeepsCallersApart asks the same questions — orders and paid GMV by customer city, and
// in all — as east_sales of east, then of west, then as the analyst, then as east again, of a
// server whose engine keeps results. Each answer equals PostgreSQL's over the rows that caller
// may see (orders and customers of its region: an order whose customer lives elsewhere is
// counted, without a city); the second east answer comes from the cache, and no other caller
// gets east's.
func TestCacheKeepsCallersApart(t *testing.T) {
	pool, schema := loadFixtureData(t)
	srv, eng := cachedService(t)
	questions := []struct {
		name  string
		input map[string]any
		sql   string // orders' and customers' row filters to fill in
	}{
		{"by customer city", queryInput([]string{"order_count", "gmv_paid"}, []string{"customers.city"}),
			`SELECT c.city, count(*), sum(o.amount) FILTER (WHERE o.status IN ('paid', 'shipped', 'completed'))
			 FROM (SELECT * FROM orders WHERE %[1]s) o LEFT JOIN (SELECT * FROM customers WHERE %[2]s) c USING (customer_id)
			 GROUP BY 1`},
		{"in all", queryInput([]string{"order_count", "gmv_paid"}, nil),
			`SELECT count(*), sum(amount) FILTER (WHERE status IN ('paid', 'shipped', 'completed')) FROM orders WHERE %[1]s`},
	}
	callers := []struct {
		name, token, where string
		cached             bool
	}{
		{"east_sales of east", eastSalesToken(t, "east"), "region = 'east'", false},
		{"east_sales of west", eastSalesToken(t, "west"), "region = 'west'", false},
		{"analyst", analystToken(t), "true", false},
		{"east_sales of east again", eastSalesToken(t, "east"), "region = 'east'", true},
	}
	for _, q := range questions {
		t.Run(q.name, func(t *testing.T) {
			var east []string
			for _, c := range callers {
				got, use := askCounting(t, srv, eng, c.token, q.input)
				want := oracletest.SQLRows(t, pool, schema, fmt.Sprintf(q.sql, c.where, c.where))
				oracletest.Compare(t, got, want, false)
				switch {
				case c.cached && (use.hits == 0 || use.misses != 0):
					t.Errorf("%s: %+v; want the answer from the cache", c.name, use)
				case !c.cached && (use.hits != 0 || use.misses == 0):
					t.Errorf("%s: %+v; want the query run, not a kept answer", c.name, use)
				case east == nil:
					east = rowsText(got)
				case !c.cached && slices.Equal(rowsText(got), east):
					t.Errorf("%s got east's answer %v", c.name, east)
				}
			}
		})
	}
	// An east order whose customer lives elsewhere is counted without a city: a row filter on
	// customers hides the customer, not the order.
	var elsewhere int64
	if err := pool.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM %[1]s.orders o JOIN %[1]s.customers c USING (customer_id)
		WHERE o.region = 'east' AND c.region <> 'east'`, pgx.Identifier{schema}.Sanitize())).Scan(&elsewhere); err != nil {
		t.Fatal(err)
	}
	if elsewhere == 0 {
		t.Error("every east order has an east customer; the case does not tell the customers' row filter apart")
	}
}

// TestCacheKeepsMasksApart asks for customers by name as the analyst, who sees names, and as
// support, who sees them partially masked, twice each, of a server whose engine keeps results:
// each answer equals PostgreSQL's, the repeats come from the cache, and no row of one is a row
// of the other.
func TestCacheKeepsMasksApart(t *testing.T) {
	pool, schema := loadFixtureData(t)
	srv, eng := cachedService(t)
	byName := queryInput([]string{"customer_count"}, []string{"customers.name"})
	const masked = "CASE WHEN char_length(name) > 2 THEN left(name, 1) || repeat('*', char_length(name) - 2) || right(name, 1) ELSE repeat('*', char_length(name)) END"
	callers := []struct {
		name, token, sql string
		cached           bool
	}{
		{"analyst", analystToken(t), "SELECT name, count(*) FROM customers GROUP BY 1", false},
		{"support", supportToken(t), "SELECT " + masked + ", count(*) FROM customers GROUP BY 1", false},
		{"analyst again", analystToken(t), "SELECT name, count(*) FROM customers GROUP BY 1", true},
		{"support again", supportToken(t), "SELECT " + masked + ", count(*) FROM customers GROUP BY 1", true},
	}
	names := map[string]map[string]bool{}
	for _, c := range callers {
		got, use := askCounting(t, srv, eng, c.token, byName)
		oracletest.Compare(t, got, oracletest.SQLRows(t, pool, schema, c.sql), false)
		if c.cached != (use.hits > 0 && use.misses == 0) {
			t.Errorf("%s: %+v; cached %v", c.name, use, c.cached)
		}
		role := strings.TrimSuffix(c.name, " again")
		if names[role] == nil {
			names[role] = map[string]bool{}
		}
		for _, row := range got {
			names[role][row[0].Text] = true
		}
	}
	for name := range names["support"] {
		if names["analyst"][name] {
			t.Errorf("support and the analyst both got a row for %q", name)
		}
	}
	if len(names["support"]) == 0 || len(names["analyst"]) <= len(names["support"]) {
		t.Errorf("%d names for the analyst, %d masked ones for support; want fewer masked", len(names["analyst"]), len(names["support"]))
	}
}
