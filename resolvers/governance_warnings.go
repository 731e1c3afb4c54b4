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
var responseWarnings = listExtension[string]{name: "Warnings", key: "warnings", same: func(a, b string) bool { return a == b }}

// addWarnings adds warnings to the response being answered; outside a GraphQL operation (as in
// POST /arrow) they are dropped.
func addWarnings(ctx context.Context, ws []string) { addToExtension(ctx, responseWarnings.key, ws) }

// listExtension puts the items resolvers add during an operation (with addToExtension) in the
// response's extensions under key, as a list in the order added, each item once (by same). An
// operation to which none were added has no such extension.
type listExtension[T any] struct {
	name, key string
	same      func(a, b T) bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = listExtension[string]{}

func (e listExtension[T]) ExtensionName() string                 { return e.name }
func (listExtension[T]) Validate(graphql.ExecutableSchema) error { return nil }

func (e listExtension[T]) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	l := &extensionList[T]{same: e.same}
	resp := next(context.WithValue(ctx, extensionKey(e.key), l))
	if resp == nil {
		return nil
	}
	if list := l.all(); len(list) > 0 {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions[e.key] = list
	}
	return resp
}

// extensionKey is the context key of the list of the extension of that key.
type extensionKey string

// extensionList gathers one operation's items from resolvers running concurrently.
type extensionList[T any] struct {
	mu   sync.Mutex
	same func(a, b T) bool
	list []T
}

func (l *extensionList[T]) add(items []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range items {
		if !slices.ContainsFunc(l.list, func(x T) bool { return l.same(x, it) }) {
			l.list = append(l.list, it)
		}
	}
}

func (l *extensionList[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// addToExtension adds items to the list of the extension of key in the response being answered,
// and reports whether there is one: outside a GraphQL operation, items are dropped.
func addToExtension[T any](ctx context.Context, key string, items []T) bool {
	l, ok := ctx.Value(extensionKey(key)).(*extensionList[T])
	if ok && len(items) > 0 {
		l.add(items)
	}
	return ok
}
