package resolvers

import (
	"context"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// responseWarnings puts what the caller should know about its answers — a deprecated metric,
// with its replacement and sunset — in the response's extensions.warnings, a list of messages,
// once each. Resolvers add them with addWarnings; an operation with none has no such extension.
type responseWarnings struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = responseWarnings{}

func (responseWarnings) ExtensionName() string                   { return "Warnings" }
func (responseWarnings) Validate(graphql.ExecutableSchema) error { return nil }

func (responseWarnings) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	w := &warningList{}
	resp := next(context.WithValue(ctx, warningsKey{}, w))
	if resp == nil {
		return nil
	}
	if list := w.all(); len(list) > 0 {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["warnings"] = list
	}
	return resp
}

type warningsKey struct{}

// warningList gathers one operation's warnings from resolvers running concurrently.
type warningList struct {
	mu   sync.Mutex
	list []string
}

func (w *warningList) add(ws []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range ws {
		if !slices.Contains(w.list, s) {
			w.list = append(w.list, s)
		}
	}
}

func (w *warningList) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// addWarnings adds warnings to the response being answered; outside a GraphQL operation (as in
// POST /arrow) they are dropped.
func addWarnings(ctx context.Context, ws []string) {
	if w, ok := ctx.Value(warningsKey{}).(*warningList); ok && len(ws) > 0 {
		w.add(ws)
	}
}
