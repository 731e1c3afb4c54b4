package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/koujing/koujing/semantic"
)

// lineageAsOf reads the version and at arguments of lineage fields: a metric root pinned at a
// version, and the definitions published at a time (RFC 3339).
func lineageAsOf(kind semantic.LineageNodeKind, key string, version *int, at *string) (semantic.LineageAsOf, error) {
	var asOf semantic.LineageAsOf
	if version != nil {
		if kind != semantic.LineageMetric {
			return asOf, invalidf("version pins a metric; leave it out for a %s, or ask for a metric", kind)
		}
		asOf.Versions = map[string]int{key: *version}
	}
	if at != nil {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return asOf, invalidf("at %q is not a time; write it as RFC 3339, such as 2026-11-30T09:00:00Z", *at)
		}
		asOf.At = t
	}
	return asOf, nil
}

// lineageGraph asks the service for a graph as the request's caller, putting a lowered depth in
// the response's warnings.
func (r *Resolver) lineageGraph(ctx context.Context, q semantic.LineageQuery) (*semantic.LineageGraph, error) {
	g, err := r.svc.Lineage().Graph(ctx, accessFor(ctx), q)
	if err != nil {
		return nil, err
	}
	addWarnings(ctx, g.Warnings)
	return g, nil
}

// metricLineage is the lineage one way of a metric of the catalog, pinned at its version when
// it is not the caller's current one (a metric reached through a pinned query).
func (r *Resolver) metricLineage(ctx context.Context, m *semantic.Metric, dir semantic.LineageDirection, depth *int) (*semantic.LineageGraph, error) {
	q := semantic.LineageQuery{Kind: semantic.LineageMetric, Key: m.Name, Direction: dir, Depth: intOr(depth, 0)}
	if cur := accessFor(ctx).Metric(m.Name); cur != nil && m.Version > 0 && cur.Version != m.Version {
		q.AsOf.Versions = map[string]int{m.Name: m.Version}
	}
	return r.lineageGraph(ctx, q)
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// openLineageJSON is a graph's OpenLineage events as JSON, stamped with the time of the request.
func openLineageJSON(g *semantic.LineageGraph, now time.Time) ([]byte, error) {
	return json.Marshal(g.OpenLineage(now))
}

// lineageFormats are the files /lineage/{metric}.{ext} serves, by extension.
var lineageFormats = map[string]struct {
	contentType string
	render      func(g *semantic.LineageGraph, now time.Time) ([]byte, error)
}{
	"svg":  {"image/svg+xml; charset=utf-8", func(g *semantic.LineageGraph, _ time.Time) ([]byte, error) { return g.SVG(), nil }},
	"dot":  {"text/vnd.graphviz; charset=utf-8", func(g *semantic.LineageGraph, _ time.Time) ([]byte, error) { return g.DOT(), nil }},
	"json": {"application/json", openLineageJSON},
}

// lineageHandler serves GET /lineage/{metric}.svg, .dot and .json (OpenLineage events): the
// metric's lineage as the caller may see it, both ways unless ?direction=upstream or downstream,
// to ?depth=N, for the metric at ?version=N (or named NAME@N) or the definitions of ?at=TIME. A
// metric the caller may not see is 404, as one that does not exist.
func lineageHandler(svc *semantic.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		dot := strings.LastIndexByte(file, '.')
		format, ok := lineageFormats[file[dot+1:]]
		if dot <= 0 || !ok {
			writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no lineage file %q; ask for /lineage/METRIC.svg, /lineage/METRIC.dot or /lineage/METRIC.json (OpenLineage)", file))
			return
		}
		g, err := lineageFromParams(r.Context(), svc, file[:dot], r.URL.Query())
		var body []byte
		if err == nil {
			body, err = format.render(g, time.Now())
		}
		if err != nil {
			writeHTTPError(w, r, log, err)
			return
		}
		if len(g.Warnings) > 0 {
			w.Header().Set("Warning", `299 koujing "`+strings.Join(g.Warnings, "; ")+`"`)
		}
		w.Header().Set("Content-Type", format.contentType)
		_, _ = w.Write(body)
	})
}

// lineageFromParams reads a lineage file's query parameters and computes its graph.
func lineageFromParams(ctx context.Context, svc *semantic.Service, metric string, params url.Values) (*semantic.LineageGraph, error) {
	q := semantic.LineageQuery{Kind: semantic.LineageMetric, Key: metric, Direction: semantic.BothDirections}
	switch d := semantic.LineageDirection(strings.ToLower(params.Get("direction"))); d {
	case "":
	case semantic.Upstream, semantic.Downstream, semantic.BothDirections:
		q.Direction = d
	default:
		return nil, invalidf("direction %q is not upstream, downstream or both", params.Get("direction"))
	}
	depth, err := intParam(params, "depth")
	if err != nil {
		return nil, err
	}
	q.Depth = intOr(depth, 0)
	version, err := intParam(params, "version")
	if err != nil {
		return nil, err
	}
	var at *string
	if v := params.Get("at"); v != "" {
		at = &v
	}
	asOf, err := lineageAsOf(q.Kind, metric, version, at)
	if err != nil {
		return nil, err
	}
	q.AsOf = asOf
	return svc.Lineage().Graph(ctx, accessFor(ctx), q)
}

// intParam reads a whole-number query parameter, nil when absent.
func intParam(params url.Values, name string) (*int, error) {
	v := params.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, invalidf("%s %q is not a whole number", name, v)
	}
	return &n, nil
}
