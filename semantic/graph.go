package semantic

import (
	"fmt"
	"sort"
	"strings"
)

// Edge is a relationship followed in one direction. Every declared relationship gives two edges:
// as declared and inverted.
type Edge struct {
	From, To    *DataModel
	Cardinality Cardinality
	FromColumns []string
	ToColumns   []string
}

func (e *Edge) String() string { return e.From.Name + "->" + e.To.Name }

// buildEdges derives the join graph from the declared relationships. A relationship declared on
// both sides (orders many_to_one customers, customers one_to_many orders) gives one pair of edges.
func buildEdges(models []*DataModel) map[*DataModel][]*Edge {
	edges := map[*DataModel][]*Edge{}
	has := func(from, to *DataModel, fromCols []string) bool {
		for _, e := range edges[from] {
			if e.To == to && strings.Join(e.FromColumns, ",") == strings.Join(fromCols, ",") {
				return true
			}
		}
		return false
	}
	for _, m := range models {
		for _, r := range m.Relationships {
			if !has(r.From, r.To, r.FromColumns) {
				edges[r.From] = append(edges[r.From], &Edge{From: r.From, To: r.To, Cardinality: r.Cardinality,
					FromColumns: r.FromColumns, ToColumns: r.ToColumns})
			}
			if !has(r.To, r.From, r.ToColumns) {
				edges[r.To] = append(edges[r.To], &Edge{From: r.To, To: r.From, Cardinality: r.Cardinality.Inverse(),
					FromColumns: r.ToColumns, ToColumns: r.FromColumns})
			}
		}
	}
	return edges
}

// JoinPath returns the edges to follow from one model to reach another: the shortest path, and
// among equally short ones the one that fans out least. It is an error when the target cannot be
// reached, or when two paths are equally good, because then the number would depend on a choice
// nobody made.
func (c *Catalog) JoinPath(from, to *DataModel) ([]*Edge, error) {
	if from == to {
		return nil, nil
	}
	dist := map[*DataModel]int{from: 0}
	queue := []*DataModel{from}
	for len(queue) > 0 && dist[to] == 0 {
		m := queue[0]
		queue = queue[1:]
		for _, e := range c.edges[m] {
			if _, seen := dist[e.To]; !seen {
				dist[e.To] = dist[m] + 1
				queue = append(queue, e.To)
			}
		}
	}
	d, ok := dist[to]
	if !ok {
		return nil, &unreachableError{from: from, to: to}
	}
	var best [][]*Edge
	bestFanouts := d + 1
	var walk func(m *DataModel, path []*Edge, fanouts int)
	walk = func(m *DataModel, path []*Edge, fanouts int) {
		if m == to {
			switch {
			case fanouts < bestFanouts:
				bestFanouts, best = fanouts, [][]*Edge{append([]*Edge(nil), path...)}
			case fanouts == bestFanouts:
				best = append(best, append([]*Edge(nil), path...))
			}
			return
		}
		for _, e := range c.edges[m] {
			// Only edges that step one level further from the start lie on a shortest path.
			if dist[e.To] != len(path)+1 {
				continue
			}
			f := fanouts
			if e.Cardinality.FansOut() {
				f++
			}
			walk(e.To, append(path, e), f)
		}
	}
	walk(from, nil, 0)
	if len(best) > 1 {
		return nil, fmt.Errorf("model %s is reachable from %s along %d equally short paths (%s and %s); remove a relationship so the join is unambiguous",
			to.Name, from.Name, len(best), pathString(best[0]), pathString(best[1]))
	}
	return best[0], nil
}

type unreachableError struct{ from, to *DataModel }

func (e *unreachableError) Error() string {
	return fmt.Sprintf("model %s is not related to model %s; declare a relationship between them", e.to.Name, e.from.Name)
}

// FansOut reports whether a path can repeat rows of the model it starts from.
func FansOut(path []*Edge) bool {
	for _, e := range path {
		if e.Cardinality.FansOut() {
			return true
		}
	}
	return false
}

func pathString(path []*Edge) string {
	if len(path) == 0 {
		return ""
	}
	parts := []string{path[0].From.Name}
	for _, e := range path {
		parts = append(parts, e.To.Name)
	}
	return strings.Join(parts, " → ")
}

// MeasureModels returns the models whose measures metric m aggregates, each once, sorted by name.
func (m *Metric) MeasureModels() []*DataModel {
	seen := map[*DataModel]bool{}
	var out []*DataModel
	var walk func(x *Metric)
	walk = func(x *Metric) {
		switch x.Kind {
		case Atomic:
			if !seen[x.Measure.Model] {
				seen[x.Measure.Model] = true
				out = append(out, x.Measure.Model)
			}
		case Derived:
			walk(x.Base)
		case Composite:
			for _, d := range x.DependsOn() {
				walk(d)
			}
		}
	}
	walk(m)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DimensionsFor returns the dimensions metric m can be grouped or filtered by: those reachable,
// unambiguously, from every model m aggregates. Sorted by qualified name.
func (c *Catalog) DimensionsFor(m *Metric) []*Dimension {
	models := m.MeasureModels()
	var out []*Dimension
	for _, target := range c.models {
		ok := true
		for _, from := range models {
			if _, err := c.JoinPath(from, target); err != nil {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, target.Dimensions...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QualifiedName() < out[j].QualifiedName() })
	return out
}
