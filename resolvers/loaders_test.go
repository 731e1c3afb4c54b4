package resolvers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/koujing/koujing/semantic"
)

// batchCounter counts the batches a reader's methods are asked for, and the keys in them.
type batchCounter struct {
	mu    sync.Mutex
	calls map[string]int
	keys  map[string]int
}

func newBatchCounter() batchCounter {
	return batchCounter{calls: map[string]int{}, keys: map[string]int{}}
}

func (c *batchCounter) count(method string, keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
	c.keys[method] += len(keys)
}

// reset forgets what was counted so far.
func (c *batchCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
	clear(c.keys)
}

// check fails t unless exactly the methods of want were called, in as many batches of as many
// keys in all as it says.
func (c *batchCounter) check(t *testing.T, want map[string]struct{ calls, keys int }) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for method, w := range want {
		if c.calls[method] != w.calls || c.keys[method] != w.keys {
			t.Errorf("%s: %d batches of %d keys in all, want %d of %d", method, c.calls[method], c.keys[method], w.calls, w.keys)
		}
	}
	for method, n := range c.calls {
		if _, ok := want[method]; !ok {
			t.Errorf("%s was called %d times, want none", method, n)
		}
	}
}

// countingReader counts the batches each CatalogReader method is asked for.
type countingReader struct {
	CatalogReader
	batchCounter
}

func newCountingReader() *countingReader {
	return &countingReader{batchCounter: newBatchCounter()}
}

// wrap makes the counter the reader of one request's caller.
func (c *countingReader) wrap(acc *semantic.Access) CatalogReader {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.CatalogReader = NewCatalogReader(acc)
	return c
}

func (c *countingReader) Domains(ctx context.Context, names []string) ([]*semantic.Domain, error) {
	c.count("Domains", names)
	return c.CatalogReader.Domains(ctx, names)
}

func (c *countingReader) Dimensions(ctx context.Context, names []string) ([]*semantic.Dimension, error) {
	c.count("Dimensions", names)
	return c.CatalogReader.Dimensions(ctx, names)
}

func (c *countingReader) DependenciesOf(ctx context.Context, metrics []string) ([][]*semantic.Metric, error) {
	c.count("DependenciesOf", metrics)
	return c.CatalogReader.DependenciesOf(ctx, metrics)
}

func (c *countingReader) ModelsOf(ctx context.Context, metrics []string) ([][]*semantic.DataModel, error) {
	c.count("ModelsOf", metrics)
	return c.CatalogReader.ModelsOf(ctx, metrics)
}

func (c *countingReader) DimensionsOf(ctx context.Context, metrics []string) ([][]*semantic.Dimension, error) {
	c.count("DimensionsOf", metrics)
	return c.CatalogReader.DimensionsOf(ctx, metrics)
}

func (c *countingReader) MetricsInDomains(ctx context.Context, domains []string) ([][]*semantic.Metric, error) {
	c.count("MetricsInDomains", domains)
	return c.CatalogReader.MetricsInDomains(ctx, domains)
}

func (c *countingReader) MetricsOnModels(ctx context.Context, models []string) ([][]*semantic.Metric, error) {
	c.count("MetricsOnModels", models)
	return c.CatalogReader.MetricsOnModels(ctx, models)
}

// TestNoNPlusOne lists 40 metrics with four nested fields each and checks that each field's
// loader read the catalog once, for all 40 metrics, rather than 40 times.
func TestNoNPlusOne(t *testing.T) {
	svc := fixture.withRates
	if n := len(svc.Catalog().Metrics()); n != 40 {
		t.Fatalf("the catalog has %d metrics, want 40", n)
	}
	reader := newCountingReader()
	// A generous batch window, so that a slow test machine does not split a batch in two.
	srv := server(t, svc, HandlerOptions{CatalogReader: reader.wrap, BatchWait: 50 * time.Millisecond})
	var data struct {
		Metrics struct {
			Edges []struct {
				Node struct {
					Name       string
					DependsOn  []nameNode
					Models     []nameNode
					Dimensions nameConnection
					Domain     *nameNode
				}
			}
		}
	}
	mustData(t, post(t, srv, `{
  metrics(first: 40) {
    edges { node {
      name
      dependsOn { name }
      models { name }
      dimensions(first: 5) { edges { node { name } } }
      domain { name }
    } }
  }
}`, nil), &data)

	edges := data.Metrics.Edges
	if len(edges) != 40 {
		t.Fatalf("got %d metrics, want 40", len(edges))
	}
	byName := map[string]int{}
	for i, e := range edges {
		byName[e.Node.Name] = i
	}
	aov := edges[byName["aov"]].Node
	if len(aov.DependsOn) != 2 || aov.DependsOn[0].Name != "gmv_paid" || len(aov.Models) != 1 || aov.Models[0].Name != "orders" ||
		len(aov.Dimensions.Edges) != 5 || aov.Domain == nil || aov.Domain.Name != "sales" {
		t.Errorf("aov = %+v", aov)
	}
	rates := edges[byName["rate_count"]].Node
	if len(rates.Models) != 1 || rates.Models[0].Name != "rates" || len(rates.Dimensions.Edges) != 1 ||
		rates.Dimensions.Edges[0].Node.Name != "rates.currency" || rates.Domain.Name != "finance" {
		t.Errorf("rate_count = %+v", rates)
	}

	reader.check(t, map[string]struct{ calls, keys int }{
		"DependenciesOf": {1, 40},
		"ModelsOf":       {1, 40},
		"DimensionsOf":   {1, 40},
		"Domains":        {1, 3}, // 40 metrics in 3 domains: each domain is read once
	})
}

// TestLoadersAreBatchedPerLevel checks the other loaders: the metrics of every data model and
// of every domain in a list are each read in one batch, and so are the dimensions of filters.
func TestLoadersAreBatchedPerLevel(t *testing.T) {
	reader := newCountingReader()
	srv := server(t, fixture.demo, HandlerOptions{CatalogReader: reader.wrap, BatchWait: 50 * time.Millisecond})
	var data struct {
		DataModels struct {
			Edges []struct{ Node struct{ Metrics []nameNode } }
		}
		Domains []struct{ Metrics []nameNode }
		Metrics struct {
			Edges []struct {
				Node struct {
					Filters []struct{ Dimension nameNode }
				}
			}
		}
	}
	mustData(t, post(t, srv, `{
  dataModels { edges { node { metrics { name } } } }
  domains { metrics { name } }
  metrics { edges { node { filters { dimension { name } } } } }
}`, nil), &data)
	if len(data.DataModels.Edges) != 5 || len(data.Domains) != 3 {
		t.Fatalf("data = %+v", data)
	}
	reader.mu.Lock()
	defer reader.mu.Unlock()
	for _, method := range []string{"MetricsOnModels", "MetricsInDomains", "Dimensions"} {
		if reader.calls[method] != 1 {
			t.Errorf("%s was called %d times, want once", method, reader.calls[method])
		}
	}
	if reader.keys["Dimensions"] != 1 {
		t.Errorf("filter dimensions: %d keys read, want orders.status once", reader.keys["Dimensions"])
	}
}
