package resolvers

import (
	"context"
	"math"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/koujing/koujing/graph"
	"github.com/koujing/koujing/graph/model"
)

// depthLimit refuses operations whose selections nest deeper than max fields, before they run.
// Introspection fields (__schema, __type) are not counted: their depth is bounded by the
// validator's own rule, and GraphiQL's introspection query is deeper than any sensible query.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	depth := selectionDepth(opCtx.Operation.SelectionSet, map[string]bool{})
	if depth <= d.max {
		return nil
	}
	err := gqlerror.Errorf("the query nests fields %d deep, more than the limit of %d; select fewer levels, and fetch deeper objects in a second query with node(id:)", depth, d.max)
	errcode.Set(err, CodeQueryTooDeep)
	return err
}

// selectionDepth returns how many fields deep a selection set nests. inFragments holds the
// fragments being expanded, so that a cycle (which validation already refuses) cannot loop.
func selectionDepth(set ast.SelectionSet, inFragments map[string]bool) int {
	deepest := 0
	for _, sel := range set {
		var depth int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			depth = 1 + selectionDepth(s.SelectionSet, inFragments)
		case *ast.InlineFragment:
			depth = selectionDepth(s.SelectionSet, inFragments)
		case *ast.FragmentSpread:
			if s.Definition == nil || inFragments[s.Name] {
				continue
			}
			inFragments[s.Name] = true
			depth = selectionDepth(s.Definition.SelectionSet, inFragments)
			delete(inFragments, s.Name)
		}
		deepest = max(deepest, depth)
	}
	return deepest
}

// introspectionOff refuses operations that ask for the schema (__schema, __type) with a
// validation error, before they run. Without it, gqlgen fails the field itself, with an error
// that would be reported as INTERNAL.
type introspectionOff struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionOff{}

func (introspectionOff) ExtensionName() string                   { return "IntrospectionOff" }
func (introspectionOff) Validate(graphql.ExecutableSchema) error { return nil }

func (introspectionOff) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if !asksSchema(opCtx.Operation.SelectionSet, map[string]bool{}) {
		return nil
	}
	err := gqlerror.Errorf("introspection is disabled on this server; ask its operators for the schema")
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// asksSchema reports whether a root selection set selects __schema or __type, directly or
// through fragments.
func asksSchema(set ast.SelectionSet, inFragments map[string]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if asksSchema(s.SelectionSet, inFragments) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && !inFragments[s.Name] {
				inFragments[s.Name] = true
				if asksSchema(s.Definition.SelectionSet, inFragments) {
					return true
				}
			}
		}
	}
	return false
}

// The costs that the complexity limit charges beyond one per field.
const (
	// queryCost is charged for each metric query run, which scans data.
	queryCost = 1000
	// explainCost is charged for each metric query compiled without running.
	explainCost = 50
)

// setComplexity makes connections cost what they can return: first items, each costing what is
// selected of it. Other fields cost one plus what is selected of them.
func setComplexity(c *graph.ComplexityRoot) {
	c.Query.Metrics = func(child int, first *int, _ *string, _ *model.MetricFilter) int {
		return connectionCost(child, first)
	}
	c.Query.Dimensions = func(child int, first *int, _ *string, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.DataModels = func(child int, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Metric.Dimensions = func(child int, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.Query = func(child int, _ model.MetricQueryInput) int { return queryCost + child }
	c.Query.Explain = func(child int, _ model.MetricQueryInput) int { return explainCost + child }
}

// connectionCost is the cost of a page of first items that each cost child. A first outside
// 0..maxPageSize is costed as the largest page, so that the resolver, not the cost, reports it.
func connectionCost(child int, first *int) int {
	n := defaultPageSize
	if first != nil {
		n = *first
	}
	if n < 0 || n > maxPageSize {
		n = maxPageSize
	}
	if child > 0 && n > (math.MaxInt-1)/child {
		return math.MaxInt
	}
	return 1 + n*child
}
