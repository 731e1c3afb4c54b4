package semantic_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
)

// rowFilterRole is a caller of the demo policy whose rows are filtered, and the same restriction
// as a condition on the region of PostgreSQL's orders and customers.
type rowFilterRole struct {
	name  string
	who   authz.Principal
	where string
	// empty says the caller sees no row at all.
	empty bool
}

var rowFilterRoles = []rowFilterRole{
	{"east_sales of east", authz.Principal{Subject: "bob", Tenant: "demo", Roles: []string{"east_sales"},
		Attributes: map[string]any{"region": "east"}}, "region = 'east'", false},
	{"regional_manager of north and south", authz.Principal{Subject: "rui", Tenant: "demo", Roles: []string{"regional_manager"},
		Attributes: map[string]any{"regions": []any{"north", "south"}}}, "region IN ('north', 'south')", false},
	{"east_sales with no region claim", authz.Principal{Subject: "eve", Tenant: "demo", Roles: []string{"east_sales"}}, "false", true},
	{"east_sales with a region that is not text", authz.Principal{Subject: "mal", Tenant: "demo", Roles: []string{"east_sales"},
		Attributes: map[string]any{"region": []any{"east", "west"}}}, "false", true},
	{"east_sales with SQL in the claim", authz.Principal{Subject: "sql", Tenant: "demo", Roles: []string{"east_sales"},
		Attributes: map[string]any{"region": "east' OR '1'='1"}}, "region = 'east'' OR ''1''=''1'", true},
}

// filteredViews creates a schema whose tables are views of the oracle data in schema with a
// role's rows only: orders and customers where the condition holds, the items of the visible
// orders, every product, and the stock of the warehouses of the regions the condition keeps.
func filteredViews(t *testing.T, schema, where string) string {
	t.Helper()
	pool := pgtest.Connect(t)
	views := pgtest.NewSchema(t, pool)
	for _, stmt := range []string{
		fmt.Sprintf("CREATE VIEW %[1]s.orders AS SELECT * FROM %[2]s.orders WHERE %[3]s", views, schema, where),
		fmt.Sprintf("CREATE VIEW %[1]s.customers AS SELECT * FROM %[2]s.customers WHERE %[3]s", views, schema, where),
		fmt.Sprintf("CREATE VIEW %[1]s.order_items AS SELECT oi.* FROM %[2]s.order_items oi WHERE oi.order_id IN (SELECT order_id FROM %[1]s.orders)", views, schema),
		fmt.Sprintf("CREATE VIEW %[1]s.products AS SELECT * FROM %[2]s.products", views, schema),
		// The policy filters stock by its warehouse's region as it filters orders by theirs.
		fmt.Sprintf("CREATE VIEW %[1]s.inventory AS SELECT * FROM %[2]s.inventory WHERE %[3]s", views, schema, strings.ReplaceAll(where, "region", "warehouse")),
	} {
		if _, err := pool.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return views
}

// TestOracleRowFilters runs the oracle suite as callers of the demo policy whose rows are
// filtered — by a region, by a list of regions, and with no usable claim at all — in the
// embedded engine, with every query pushed down to PostgreSQL, and federated; each answer must
// equal PostgreSQL's answer to the case's SQL over views holding only that caller's rows. The
// filters apply to the scans of orders, of the customers joined to them and of order items
// (through their orders), whichever way the query reaches them.
func TestOracleRowFilters(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	// After the cleanups, which close the sources modeCatalog opened.
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	pool, ds, schema := loadOracleData(t, mem)
	defer ds.Release()
	files := t.TempDir()
	if err := demodata.WriteCSV(ctx, files, ds); err != nil {
		t.Fatal(err)
	}
	memoryCat, inMemory := memoryCatalog(t, mem, ds)
	type modeService struct {
		mode oracleMode
		svc  *semantic.Service
	}
	services := []modeService{{oracleMode{name: "engine"}, accessService(t, memoryCat, inMemory, mem)}}
	for _, mode := range warehouseModes(schema, files) {
		cat, src := modeCatalog(t, mem, mode)
		services = append(services, modeService{mode, accessService(t, cat, src, mem)})
	}
	for _, role := range rowFilterRoles {
		t.Run(role.name, func(t *testing.T) {
			views := filteredViews(t, schema, role.where)
			for _, ms := range services {
				t.Run(ms.mode.name, func(t *testing.T) {
					acc, err := ms.svc.Access(&role.who)
					if err != nil {
						t.Fatal(err)
					}
					if ms.mode.sourceOf != nil {
						checkPushedDown(t, ms.svc, acc, ms.mode)
					}
					runOracleAs(t, ms.svc, acc, pool, views, !role.empty)
					// customers.name is tagged pii, which east_sales may not see.
					_, err = ms.svc.Query(ctx, acc, semantic.MetricQuery{Metrics: []string{"customer_count"}, Dimensions: []string{"customers.name"}})
					if !errors.Is(err, semantic.ErrNotFound) {
						t.Errorf("customers.name as %s: %v, want not found", role.name, err)
					}
				})
			}
		})
	}
}

// TestOracleMasks checks that support, who sees customer names partially masked, groups and
// filters by the masked names, and that the masks equal PostgreSQL's over the same names, in
// the engine and pushed down.
func TestOracleMasks(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	// After the cleanups, which close the sources modeCatalog opened.
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	pool, ds, schema := loadOracleData(t, mem)
	defer ds.Release()
	memoryCat, inMemory := memoryCatalog(t, mem, ds)
	pushdown := warehouseModes(schema, t.TempDir())[0]
	cat, src := modeCatalog(t, mem, pushdown)
	support := &authz.Principal{Subject: "sue", Tenant: "demo", Roles: []string{"support"}}
	const masked = "CASE WHEN char_length(name) > 2 THEN left(name, 1) || repeat('*', char_length(name) - 2) || right(name, 1) ELSE repeat('*', char_length(name)) END"
	cases := []struct {
		name  string
		query semantic.MetricQuery
		sql   string
	}{
		{"customers by masked name",
			semantic.MetricQuery{Metrics: []string{"customer_count"}, Dimensions: []string{"customers.name"}},
			"SELECT " + masked + ", count(*) FROM customers GROUP BY 1"},
		{"a filter compares masked names",
			semantic.MetricQuery{Metrics: []string{"customer_count"}, Dimensions: []string{"customers.segment"},
				Filters: []semantic.QueryFilter{{Dimension: "customers.name", Op: semantic.InList, Values: []string{"W******g", "Wei Wang"}}}},
			"SELECT segment, count(*) FROM customers WHERE " + masked + " IN ('W******g', 'Wei Wang') GROUP BY 1"},
	}
	for _, mode := range []struct {
		name string
		svc  *semantic.Service
	}{{"engine", accessService(t, memoryCat, inMemory, mem)}, {"pushdown", accessService(t, cat, src, mem)}} {
		acc, err := mode.svc.Access(support)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(mode.name+"/"+c.name, func(t *testing.T) {
				res, err := mode.svc.Query(ctx, acc, c.query)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Release()
				want := oracletest.SQLRows(t, pool, schema, c.sql)
				if len(want) == 0 {
					t.Fatal("PostgreSQL returned no rows; the case checks nothing")
				}
				oracletest.Compare(t, oracletest.ResultRows(t, res), want, false)
			})
		}
	}
}

// memoryCatalog loads the demo definitions over ds, served from memory by sources closed when
// the test ends. The caller keeps ds until then.
func memoryCatalog(t *testing.T, mem memory.Allocator, ds *demodata.Dataset) (*semantic.Catalog, *engine.Sources) {
	t.Helper()
	src := engine.NewSources(mem)
	t.Cleanup(src.Close)
	src.SetDemo(ds)
	cat, err := semantic.LoadFS(context.Background(), demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	return cat, src
}

// accessService returns a service over cat and src that decides access with the demo's policy.
func accessService(t *testing.T, cat *semantic.Catalog, src *engine.Sources, mem memory.Allocator) *semantic.Service {
	t.Helper()
	a, err := demo.NewAuthorizer(context.Background(), cat, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, Parallelism: 2}), semantic.ServiceOptions{Authorizer: a})
}
