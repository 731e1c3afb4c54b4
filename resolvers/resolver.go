// Package resolvers serves Koujing's GraphQL API: thin resolvers that turn GraphQL fields into
// calls on the semantic layer, per-request dataloaders that batch nested lookups, one error
// presenter, and the HTTP handler with its abuse limits.
package resolvers

import (
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/semantic"
)

// Resolver is the root of the resolvers and their one point of dependency injection: every
// resolver reaches the service through it. It holds nothing per request; per-request state
// (the dataloaders) travels in the context.
type Resolver struct {
	svc *semantic.Service
	// arrowMem allocates the plain-text copies of dictionary columns in Arrow results.
	arrowMem memory.Allocator
}
