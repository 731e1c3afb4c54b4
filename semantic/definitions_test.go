package semantic_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// TestSplitDefinitionsRoundTrip splits the demo definitions into one definition each, lays them
// out again as files and loads them: the catalog is the demo's, definition for definition.
func TestSplitDefinitionsRoundTrip(t *testing.T) {
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	ctx := context.Background()
	want, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := semantic.LoadFS(ctx, semantic.DefinitionFiles(defs), semantic.SourcesResolver(src))
	if err != nil {
		t.Fatalf("the split definitions do not load:\n%v", err)
	}
	count := map[store.Kind]int{}
	for _, d := range defs {
		count[d.Kind]++
	}
	if count[store.KindMetric] != len(want.Metrics()) || count[store.KindModel] != len(want.Models()) || count[store.KindDomain] != len(want.Domains()) {
		t.Errorf("split into %v, want %d metrics, %d models, %d domains", count, len(want.Metrics()), len(want.Models()), len(want.Domains()))
	}
	for _, m := range want.Metrics() {
		g := got.Metric(m.Name)
		if g == nil || g.Kind != m.Kind || g.Label != m.Label || strings.Join(g.Synonyms, ",") != strings.Join(m.Synonyms, ",") ||
			semanticText(g) != semanticText(m) {
			t.Errorf("metric %s changed on the round trip", m.Name)
		}
	}
	for _, m := range want.Models() {
		g := got.Model(m.Name)
		if g == nil || len(g.Dimensions) != len(m.Dimensions) || len(g.Measures) != len(m.Measures) {
			t.Fatalf("model %s changed on the round trip", m.Name)
		}
		for i, d := range m.Dimensions {
			if g.Dimensions[i].Expr.String() != d.Expr.String() || strings.Join(g.Dimensions[i].Tags, ",") != strings.Join(d.Tags, ",") {
				t.Errorf("dimension %s changed: %s vs %s", d.QualifiedName(), g.Dimensions[i].Expr, d.Expr)
			}
		}
	}
}

// TestSplitDefinitionsIdempotent splits the demo definitions, lays them out as files and splits
// those again: every definition comes back with the same hash, the folded expression of
// products.price_band and its blank lines included, so that exported definitions propose nothing.
func TestSplitDefinitionsIdempotent(t *testing.T) {
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	again, err := semantic.SplitDefinitions(semantic.DefinitionFiles(defs))
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(defs) {
		t.Fatalf("%d definitions, then %d", len(defs), len(again))
	}
	for i, d := range defs {
		h1, err1 := d.Hash()
		h2, err2 := again[i].Hash()
		if err1 != nil || err2 != nil || h1 != h2 || d.YAML != again[i].YAML {
			t.Errorf("%s changed when written out and read again:\n%s\nthen\n%s", d.Key(), d.YAML, again[i].YAML)
		}
	}
}

func semanticText(m *semantic.Metric) string {
	switch m.Kind {
	case semantic.Atomic:
		return m.Measure.QualifiedName()
	case semantic.Derived:
		var parts []string
		for _, f := range m.Filters {
			parts = append(parts, f.String())
		}
		return m.Base.Name + " " + strings.Join(parts, " ")
	}
	return m.Formula.String()
}

func TestSplitDefinitionsErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"no name", "metrics:\n  - label: x\n", "a metric without a name"},
		{"unknown key", "metric:\n  - name: x\n", `unknown key "metric"`},
		{"not a list", "metrics: {name: x}\n", "metrics is a list"},
		{"bad yaml", "metrics:\n  - name: [x\n", "did not find expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := semantic.SplitDefinitions(fstest.MapFS{"a.yaml": {Data: []byte(tt.file)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "a.yaml") {
				t.Errorf("error %v does not name a.yaml and say %q", err, tt.want)
			}
		})
	}
	_, err := semantic.SplitDefinitions(fstest.MapFS{
		"a.yaml": {Data: []byte("metrics:\n  - name: x\n")},
		"b.yaml": {Data: []byte("metrics:\n  - name: x\n")},
	})
	if err == nil || !strings.Contains(err.Error(), "metric x is also defined in a.yaml") {
		t.Errorf("a name defined twice: %v", err)
	}
}

// TestSplitDefinitionsAliases checks that a definition using an anchor of another stands on its
// own once split.
func TestSplitDefinitionsAliases(t *testing.T) {
	file := "metrics:\n  - name: a\n    synonyms: &syn [one, two]\n  - name: b\n    synonyms: *syn\n"
	defs, err := semantic.SplitDefinitions(fstest.MapFS{"m.yaml": {Data: []byte(file)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 2 || !strings.Contains(defs[1].YAML, "one") || strings.Contains(defs[1].YAML, "*syn") || strings.Contains(defs[0].YAML, "&syn") {
		t.Errorf("definitions %+v", defs)
	}
}

func TestDefinitionHash(t *testing.T) {
	hash := func(y string) string {
		h, err := semantic.Definition{Kind: store.KindMetric, Name: "a", YAML: y}.Hash()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a := hash("name: a\nlabel: A # a comment\nsynonyms: [x, y]\n")
	if b := hash("synonyms:\n  - x\n  - y\nname: a\nlabel: 'A'\n"); a != b {
		t.Error("formatting, comments or key order changed the hash")
	}
	if b := hash("name: a\nlabel: A\nsynonyms: [y, x]\n"); a == b {
		t.Error("the order of a list did not change the hash")
	}
	if b := hash("name: a\nlabel: B\nsynonyms: [x, y]\n"); a == b {
		t.Error("a value did not change the hash")
	}
}

func TestDiffDefinitions(t *testing.T) {
	old := `name: orders
label: Orders
dimensions:
  - name: region
    label: Region
  - name: channel
measures:
  - name: amount_total
    agg: sum
    expr: amount
`
	updated := `name: orders
label: Orders
description: One row per order.
dimensions:
  - name: region
    label: Order region
    tags: [geo]
  - name: status
measures:
  - name: amount_total
    agg: sum
    expr: amount - coupon
`
	got, err := semantic.DiffDefinitions(old, updated)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.Path+": "+c.Old+" -> "+c.New)
	}
	want := []string{
		`description:  -> "One row per order."`,
		`dimensions[channel]: {"name":"channel"} -> `,
		`dimensions[region].label: "Region" -> "Order region"`,
		`dimensions[region].tags:  -> ["geo"]`,
		`dimensions[status]:  -> {"name":"status"}`,
		`measures[amount_total].expr: "amount" -> "amount - coupon"`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("diff:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	created, err := semantic.DiffDefinitions("", "name: x\nlabel: X\n")
	if err != nil || len(created) != 2 || created[0].Path != "label" || created[0].Old != "" {
		t.Errorf("diff from nothing: %+v %v", created, err)
	}
}
