package semantic_test

import (
	"bytes"
	"context"
	encsv "encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
)

// TestDictionary checks the finance domain's data dictionary over the demo, and that east_sales,
// who may not read coupon_rate, net_take_rate nor customers.name, does not find them in it.
func TestDictionary(t *testing.T) {
	svc := demoService(t)
	d, err := svc.Catalog().FullAccess().Dictionary("finance")
	if err != nil {
		t.Fatal(err)
	}
	var metrics, dims []string
	for _, e := range d.Entries {
		if e.Kind == semantic.SearchMetric {
			metrics = append(metrics, e.Name)
		} else {
			dims = append(dims, e.Name)
		}
	}
	want := []string{"coupon_rate", "coupon_spend", "coupon_spend_placed", "gmv_net", "gmv_net_placed", "gmv_paid", "net_take_rate"}
	if !slices.Equal(metrics, want) {
		t.Errorf("finance's metrics %v, want %v", metrics, want)
	}
	if !slices.Contains(dims, "orders.region") || !slices.Contains(dims, "customers.name") || !slices.IsSorted(dims) {
		t.Errorf("finance's dimensions %v", dims)
	}
	e := d.Entries[slices.Index(metrics, "gmv_paid")]
	if e.Label != "GMV (paid)" || e.Unit != "CNY" || e.Format != "currency" || e.Owner != "finance-bi" || e.Status != "published" ||
		e.Expression != "gmv_placed where orders.status in ('paid', 'shipped', 'completed')" || !strings.HasPrefix(e.Definition, "Gross merchandise value of paid orders") {
		t.Errorf("gmv_paid's entry %+v", e)
	}
	var md, csv bytes.Buffer
	if err := d.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "# 财务 Finance — data dictionary") || !strings.Contains(md.String(), "| gmv_paid | GMV (paid) | Gross merchandise") {
		t.Errorf("markdown:\n%s", md.String())
	}
	rows, err := encsv.NewReader(&csv).ReadAll()
	if err != nil || len(rows) != len(d.Entries)+1 || strings.Join(rows[0], ",") != "kind,name,label,definition,expression,unit,format,category,owner,steward,status,version" {
		t.Errorf("csv has %d rows for %d entries (%v), header %q", len(rows), len(d.Entries), err, rows[0])
	}

	east := accessAs(t, svc, "east_sales", map[string]any{"region": "east"})
	ed, err := east.Dictionary("finance")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ed.Entries {
		if e.Name == "coupon_rate" || e.Name == "net_take_rate" || e.Name == "customers.name" {
			t.Errorf("east_sales reads %s in finance's dictionary", e.Name)
		}
	}
	if _, err := east.Dictionary("astrology"); !errors.Is(err, semantic.ErrNotFound) {
		t.Errorf("an unknown domain gave %v", err)
	}
}

// TestCatalogFields checks categories and stewards: read onto metrics, dimensions and domains,
// and a category a domain does not list refused at its line.
func TestCatalogFields(t *testing.T) {
	const defs = `domains:
  - name: sales
    owner: sales-bi
    steward: ann
    categories: [revenue, orders]
models:
  - name: rates
    source: {file: rates.csv}
    primary_key: currency
    dimensions:
      - name: currency
        category: money
        owner: fx-team
        steward: bob
    measures:
      - name: rate_total
        agg: sum
        expr: rate
metrics:
  - name: total_rate
    domain: sales
    category: revenue
    steward: cat
    measure: rates.rate_total
`
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("defs.yaml", defs)
	write("rates.csv", "currency,rate\nCNY,1\n")
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	cat, err := semantic.LoadDir(context.Background(), dir, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	m, d, dom := cat.Metric("total_rate"), cat.Dimension("rates.currency"), cat.Domain("sales")
	if m.Category != "revenue" || m.Steward != "cat" || d.Category != "money" || d.Owner != "fx-team" || d.Steward != "bob" ||
		dom.Steward != "ann" || !slices.Equal(dom.Categories, []string{"revenue", "orders"}) {
		t.Errorf("read %+v, %+v, %+v", m, d, dom)
	}
	write("defs.yaml", strings.Replace(defs, "category: revenue", "category: revenu", 1))
	_, err = semantic.LoadDir(context.Background(), dir, semantic.SourcesResolver(src))
	var ps semantic.Problems
	want := filepath.Join(dir, "defs.yaml") + `:22:15: metric total_rate: category "revenu" is not one of domain sales's categories (hint: did you mean revenue?)`
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].String() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
