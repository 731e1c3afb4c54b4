package semantic_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// valuesService returns a service over the demo definitions and a small demo dataset, under the
// demo's policy; every query's memory is checked back to zero when the test ends.
func valuesService(t *testing.T) *semantic.Service {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	src := engine.NewSources(mem)
	t.Cleanup(src.Close)
	ds, err := demodata.Generate(ctx, mem, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	src.SetDemo(ds)
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	a, err := demo.NewAuthorizer(ctx, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	return semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem}), semantic.ServiceOptions{Authorizer: a})
}

// countsBy answers metric by dimension as acc's caller, as value → count.
func countsBy(t *testing.T, svc *semantic.Service, acc *semantic.Access, metric, dim string) map[string]string {
	t.Helper()
	res, err := svc.Query(context.Background(), acc, semantic.MetricQuery{Metrics: []string{metric}, Dimensions: []string{dim}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	out := map[string]string{}
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			out[semantic.FormatValue(b.Column(0), i)] = semantic.FormatValue(b.Column(1), i)
		}
	}
	return out
}

// TestDimensionValues lists dimension values as the demo's roles see them: each value's rows
// equal what the metric counting the model's rows gives by that dimension for the same caller,
// row filters and masks apply, and the limit, the search and the errors say what they do.
func TestDimensionValues(t *testing.T) {
	ctx := context.Background()
	svc := valuesService(t)
	analyst := svc.Catalog().FullAccess()
	east := accessAs(t, svc, "east_sales", map[string]any{"region": "east"})
	support := accessAs(t, svc, "support", nil)
	values := func(acc *semantic.Access, q semantic.DimensionValuesQuery) *semantic.DimensionValues {
		t.Helper()
		v, err := svc.DimensionValues(ctx, acc, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return v
	}
	sameCounts := func(name string, v *semantic.DimensionValues, want map[string]string) {
		t.Helper()
		if len(v.Values) != len(want) || v.More {
			t.Errorf("%s: %d values (more: %v), want %d: %+v", name, len(v.Values), v.More, len(want), v.Values)
		}
		for i, x := range v.Values {
			if got := want[x.Value]; got == "" || got != strconv.FormatInt(x.Rows, 10) {
				t.Errorf("%s: %q has %d rows, the metric counts %s", name, x.Value, x.Rows, got)
			}
			if i > 0 && !x.Null && v.Values[i-1].Value >= x.Value {
				t.Errorf("%s: %q comes after %q", name, x.Value, v.Values[i-1].Value)
			}
		}
	}

	sameCounts("analyst regions", values(analyst, semantic.DimensionValuesQuery{Dimension: "orders.region"}), countsBy(t, svc, analyst, "order_count", "orders.region"))
	eastRegions := values(east, semantic.DimensionValuesQuery{Dimension: "orders.region"})
	sameCounts("east regions", eastRegions, countsBy(t, svc, east, "order_count", "orders.region"))
	if len(eastRegions.Values) != 1 || eastRegions.Values[0].Value != "east" {
		t.Errorf("east_sales sees regions %+v, want east alone", eastRegions.Values)
	}
	sameCounts("east cities", values(east, semantic.DimensionValuesQuery{Dimension: "customers.city", Limit: semantic.MaxDimensionValues}),
		countsBy(t, svc, east, "customer_count", "customers.city"))

	names := values(support, semantic.DimensionValuesQuery{Dimension: "customers.name", Search: "*", Limit: 3})
	if names.Mask != "partial" || len(names.Values) != 3 || !names.More {
		t.Errorf("support's customer names: mask %q, %d values, more %v; want 3 partial ones and more", names.Mask, len(names.Values), names.More)
	}
	for _, v := range names.Values {
		if !strings.Contains(v.Value, "*") {
			t.Errorf("support sees the name %q unmasked", v.Value)
		}
	}

	found := values(analyst, semantic.DimensionValuesQuery{Dimension: "orders.status", Search: "PED"})
	if len(found.Values) != 1 || found.Values[0].Value != "shipped" {
		t.Errorf("statuses containing PED: %+v, want shipped", found.Values)
	}
	span := values(east, semantic.DimensionValuesQuery{Dimension: "orders.created_at"})
	if !strings.HasPrefix(span.Earliest, "2023-01") || !strings.HasPrefix(span.Latest, "2025-12") || len(span.Values) != 0 {
		t.Errorf("order times span %q to %q with values %v; want 2023-01 to 2025-12", span.Earliest, span.Latest, span.Values)
	}

	errs := []struct {
		name  string
		acc   *semantic.Access
		q     semantic.DimensionValuesQuery
		class error
		want  string
	}{
		{"hidden", east, semantic.DimensionValuesQuery{Dimension: "customers.name"}, semantic.ErrNotFound, `unknown dimension "customers.name"`},
		{"unknown", analyst, semantic.DimensionValuesQuery{Dimension: "orders.colour"}, semantic.ErrNotFound, `unknown dimension "orders.colour"`},
		{"read only", accessAs(t, svc, "viewer", nil), semantic.DimensionValuesQuery{Dimension: "orders.region"}, semantic.ErrForbidden, "may see dimension orders.region but not query it"},
		{"limit too large", analyst, semantic.DimensionValuesQuery{Dimension: "orders.region", Limit: 5000}, semantic.ErrInvalidQuery, "limit 5000 is outside 1 to 1000"},
		{"search of a boolean", analyst, semantic.DimensionValuesQuery{Dimension: "orders.is_paid", Search: "t"}, semantic.ErrInvalidQuery, "search applies to text dimensions"},
	}
	for _, c := range errs {
		_, err := svc.DimensionValues(ctx, c.acc, c.q)
		if !errors.Is(err, c.class) || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %v containing %q", c.name, err, c.class, c.want)
		}
	}
}
