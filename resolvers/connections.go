package resolvers

import (
	"encoding/base64"
	"sort"
	"strings"

	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
)

// The page sizes of connections.
const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// cursorPrefix marks a cursor, so that a global ID or other text passed as after is refused.
const cursorPrefix = "cursor:"

// A cursor is opaque to clients; it holds the sort key of an item, so that paging goes on from
// the right place even when items were added or removed between two pages.
func encodeCursor(key string) string {
	return base64.StdEncoding.EncodeToString([]byte(cursorPrefix + key))
}

func decodeCursor(cursor string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(raw), cursorPrefix)
}

// page is one page of a list sorted by key.
type page[T any] struct {
	items   []T
	cursors []string
	info    *model.PageInfo
	total   int
}

// paginate returns the page of all (sorted by key, ascending) that first and after ask for.
func paginate[T any](all []T, key func(T) string, first *int, after *string) (page[T], error) {
	n := defaultPageSize
	if first != nil {
		n = *first
	}
	switch {
	case n < 0:
		return page[T]{}, invalidf("first is %d; ask for 0 or more items", n)
	case n > maxPageSize:
		return page[T]{}, invalidf("first is %d, more than the maximum of %d; fetch the rest page by page with after: pageInfo.endCursor", n, maxPageSize)
	}
	start := 0
	if after != nil {
		k, ok := decodeCursor(*after)
		if !ok {
			return page[T]{}, invalidf("after %q is not a cursor; pass pageInfo.endCursor or an edge's cursor as it is", *after)
		}
		start = sort.Search(len(all), func(i int) bool { return key(all[i]) > k })
	}
	end := min(start+n, len(all))
	p := page[T]{items: all[start:end], total: len(all), info: &model.PageInfo{
		HasNextPage:     end < len(all),
		HasPreviousPage: start > 0,
	}}
	p.cursors = make([]string, len(p.items))
	for i, it := range p.items {
		p.cursors[i] = encodeCursor(key(it))
	}
	if len(p.cursors) > 0 {
		p.info.StartCursor = &p.cursors[0]
		p.info.EndCursor = &p.cursors[len(p.cursors)-1]
	}
	return p, nil
}

func metricConnection(all []*semantic.Metric, first *int, after *string) (*model.MetricConnection, error) {
	p, err := paginate(all, func(m *semantic.Metric) string { return m.Name }, first, after)
	if err != nil {
		return nil, err
	}
	c := &model.MetricConnection{PageInfo: p.info, TotalCount: p.total, Edges: make([]*model.MetricEdge, len(p.items))}
	for i, m := range p.items {
		c.Edges[i] = &model.MetricEdge{Cursor: p.cursors[i], Node: m}
	}
	return c, nil
}

func dimensionConnection(all []*semantic.Dimension, first *int, after *string) (*model.DimensionConnection, error) {
	p, err := paginate(all, (*semantic.Dimension).QualifiedName, first, after)
	if err != nil {
		return nil, err
	}
	c := &model.DimensionConnection{PageInfo: p.info, TotalCount: p.total, Edges: make([]*model.DimensionEdge, len(p.items))}
	for i, d := range p.items {
		c.Edges[i] = &model.DimensionEdge{Cursor: p.cursors[i], Node: d}
	}
	return c, nil
}

func dataModelConnection(all []*semantic.DataModel, first *int, after *string) (*model.DataModelConnection, error) {
	p, err := paginate(all, func(m *semantic.DataModel) string { return m.Name }, first, after)
	if err != nil {
		return nil, err
	}
	c := &model.DataModelConnection{PageInfo: p.info, TotalCount: p.total, Edges: make([]*model.DataModelEdge, len(p.items))}
	for i, m := range p.items {
		c.Edges[i] = &model.DataModelEdge{Cursor: p.cursors[i], Node: m}
	}
	return c, nil
}
