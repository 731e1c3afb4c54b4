package semantic

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic/store"
)

// BenchmarkLoadParsedDefinitions times loading 10,000 metrics again, their YAML parsed by the
// load before, as a governance reloads after a publication.
//
//	go test ./semantic/ -run '^$' -bench BenchmarkLoadParsedDefinitions
func BenchmarkLoadParsedDefinitions(b *testing.B) {
	defs, err := SplitDefinitions(os.DirFS("demo"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		name := fmt.Sprintf("generated_%05d", i)
		defs = append(defs, Definition{Kind: store.KindMetric, Name: name, YAML: fmt.Sprintf(
			"name: %s\nlabel: Generated metric %d\nowner: team-%d\ndomain: sales\ntags: [generated]\nbase: gmv_placed\nfilters:\n  - {dimension: orders.channel, operator: in, values: [app, web]}\n", name, i, i%50)})
	}
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	cache := newParsedDefinitions()
	ctx := context.Background()
	if _, err := loadDefinitions(ctx, defs, SourcesResolver(src), "", cache); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loadDefinitions(ctx, defs, SourcesResolver(src), "", cache); err != nil {
			b.Fatal(err)
		}
	}
}
