package resolvers

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/koujing/koujing/semantic"
)

// CatalogReader reads what nested fields need from the definitions, a batch of keys at a time.
// The per-request dataloaders are its only callers: each of its methods is called once per batch,
// with every key that one level of a GraphQL request asked for (the dependencies of all 20 metrics
// of a page, not of one metric 20 times). Results line up with keys, one per key, and are never
// modified by the caller. Implementations must be safe for concurrent use.
type CatalogReader interface {
	// Domains returns the domain of each name; nil where there is none.
	Domains(ctx context.Context, names []string) ([]*semantic.Domain, error)
	// Dimensions returns the dimension of each qualified name ("orders.region"); nil where there
	// is none.
	Dimensions(ctx context.Context, names []string) ([]*semantic.Dimension, error)
	// DependenciesOf returns, for each metric name, the metrics it is built on directly.
	DependenciesOf(ctx context.Context, metrics []string) ([][]*semantic.Metric, error)
	// ModelsOf returns, for each metric name, the data models whose measures it aggregates.
	ModelsOf(ctx context.Context, metrics []string) ([][]*semantic.DataModel, error)
	// DimensionsOf returns, for each metric name, the dimensions it can be grouped by, sorted by
	// qualified name.
	DimensionsOf(ctx context.Context, metrics []string) ([][]*semantic.Dimension, error)
	// MetricsInDomains returns, for each domain name, the domain's metrics, sorted by name.
	MetricsInDomains(ctx context.Context, domains []string) ([][]*semantic.Metric, error)
	// MetricsOnModels returns, for each data model name, the metrics that aggregate its measures,
	// sorted by name.
	MetricsOnModels(ctx context.Context, models []string) ([][]*semantic.Metric, error)
}

// NewCatalogReader returns the CatalogReader over the catalog as one caller sees it: a name it
// may not see reads as nil, and lists hold only what it may see.
func NewCatalogReader(acc *semantic.Access) CatalogReader { return catalogReader{acc} }

type catalogReader struct{ acc *semantic.Access }

func (c catalogReader) Domains(_ context.Context, names []string) ([]*semantic.Domain, error) {
	out := make([]*semantic.Domain, len(names))
	for i, n := range names {
		out[i] = c.acc.Domain(n)
	}
	return out, nil
}

func (c catalogReader) Dimensions(_ context.Context, names []string) ([]*semantic.Dimension, error) {
	out := make([]*semantic.Dimension, len(names))
	for i, n := range names {
		out[i] = c.acc.Dimension(n)
	}
	return out, nil
}

// DependenciesOf needs no filter: a metric is visible only when the metrics it is built on are.
func (c catalogReader) DependenciesOf(_ context.Context, metrics []string) ([][]*semantic.Metric, error) {
	return perMetric(c.acc, metrics, (*semantic.Metric).DependsOn), nil
}

// ModelsOf leaves out the models the caller cannot see: a metric may be visible while they are
// not.
func (c catalogReader) ModelsOf(_ context.Context, metrics []string) ([][]*semantic.DataModel, error) {
	return perMetric(c.acc, metrics, c.acc.MeasureModels), nil
}

// DimensionsOf works out the reachable dimensions once per distinct set of aggregated models:
// the metrics of one model, which are most of a page, share one answer.
func (c catalogReader) DimensionsOf(_ context.Context, metrics []string) ([][]*semantic.Dimension, error) {
	byModels := map[string][]*semantic.Dimension{}
	return perMetric(c.acc, metrics, func(m *semantic.Metric) []*semantic.Dimension {
		var key string
		for _, dm := range m.MeasureModels() {
			key += dm.Name + ","
		}
		dims, ok := byModels[key]
		if !ok {
			dims = c.acc.DimensionsFor(m)
			byModels[key] = dims
		}
		return dims
	}), nil
}

func (c catalogReader) MetricsInDomains(_ context.Context, domains []string) ([][]*semantic.Metric, error) {
	byDomain := map[string][]*semantic.Metric{}
	for _, m := range c.acc.Metrics() {
		byDomain[m.Domain] = append(byDomain[m.Domain], m)
	}
	out := make([][]*semantic.Metric, len(domains))
	for i, d := range domains {
		out[i] = byDomain[d]
	}
	return out, nil
}

func (c catalogReader) MetricsOnModels(_ context.Context, models []string) ([][]*semantic.Metric, error) {
	byModel := map[string][]*semantic.Metric{}
	for _, m := range c.acc.Metrics() {
		for _, dm := range m.MeasureModels() {
			byModel[dm.Name] = append(byModel[dm.Name], m)
		}
	}
	out := make([][]*semantic.Metric, len(models))
	for i, name := range models {
		out[i] = byModel[name]
	}
	return out, nil
}

// perMetric applies fn to the metric of each name; a name the caller cannot see gets nil.
func perMetric[V any](acc *semantic.Access, names []string, fn func(*semantic.Metric) []V) [][]V {
	out := make([][]V, len(names))
	for i, n := range names {
		if m := acc.Metric(n); m != nil {
			out[i] = fn(m)
		}
	}
	return out
}

// loaders are one request's dataloaders. Each gathers the keys its fields ask for during one
// batch window and reads them with one CatalogReader call; within the request, each key is read
// once. They are made per request, over the caller's access, so that nothing read for one caller
// is served to another.
type loaders struct {
	domain          *dataloader.Loader[string, *semantic.Domain]
	dimension       *dataloader.Loader[string, *semantic.Dimension]
	dependencies    *dataloader.Loader[string, []*semantic.Metric]
	models          *dataloader.Loader[string, []*semantic.DataModel]
	dimensionsOf    *dataloader.Loader[string, []*semantic.Dimension]
	metricsInDomain *dataloader.Loader[string, []*semantic.Metric]
	metricsOnModel  *dataloader.Loader[string, []*semantic.Metric]
	// governance are the loaders of the metadata store (governance_loaders.go).
	governance *governanceLoaders
}

func newLoaders(r CatalogReader, wait time.Duration, log *slog.Logger) *loaders {
	return &loaders{
		domain:          newLoader(r.Domains, wait, log),
		dimension:       newLoader(r.Dimensions, wait, log),
		dependencies:    newLoader(r.DependenciesOf, wait, log),
		models:          newLoader(r.ModelsOf, wait, log),
		dimensionsOf:    newLoader(r.DimensionsOf, wait, log),
		metricsInDomain: newLoader(r.MetricsInDomains, wait, log),
		metricsOnModel:  newLoader(r.MetricsOnModels, wait, log),
	}
}

// newLoader adapts one CatalogReader method to a dataloader. A panic in the reader fails the
// batch's keys with an internal error and is logged here, with its stack, rather than by the
// dataloader package on standard error.
func newLoader[V any](read func(context.Context, []string) ([]V, error), wait time.Duration, log *slog.Logger) *dataloader.Loader[string, V] {
	safeRead := func(ctx context.Context, keys []string) (vals []V, err error) {
		defer func() {
			if v := recover(); v != nil {
				log.ErrorContext(ctx, "catalog reader panicked", "keys", keys, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = &loggedError{msg: fmt.Sprintf("catalog reader panicked: %v", v)}
			}
		}()
		return read(ctx, keys)
	}
	batch := func(ctx context.Context, keys []string) []*dataloader.Result[V] {
		vals, err := safeRead(ctx, keys)
		if err == nil && len(vals) != len(keys) {
			err = fmt.Errorf("catalog reader returned %d results for %d keys", len(vals), len(keys))
		}
		out := make([]*dataloader.Result[V], len(keys))
		for i := range keys {
			if err != nil {
				out[i] = &dataloader.Result[V]{Error: err}
			} else {
				out[i] = &dataloader.Result[V]{Data: vals[i]}
			}
		}
		return out
	}
	return dataloader.NewBatchedLoader(batch, dataloader.WithWait[string, V](wait))
}

type loadersKey struct{}

func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// loadersFor returns the request's dataloaders. Their absence is a wiring mistake, not a request's
// fault: it panics, which the error presenter reports as INTERNAL.
func loadersFor(ctx context.Context) *loaders {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		panic("no dataloaders in the request context; serve the schema through NewHandler")
	}
	return l
}
