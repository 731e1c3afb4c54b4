package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/koujing/koujing/semantic"
)

// withOperationClient adds the name of the GraphQL operation being run ("query SalesWeekly { … }")
// to the client the request's X-Koujing-Client header named: "metabase/dashboard/12 · query
// SalesWeekly", or "query SalesWeekly" alone. An anonymous operation adds nothing.
func withOperationClient(ctx context.Context) context.Context {
	if !graphql.HasOperationContext(ctx) {
		return ctx
	}
	oc := graphql.GetOperationContext(ctx)
	name := oc.OperationName
	if oc.Operation != nil && oc.Operation.Name != "" {
		name = oc.Operation.Name
	}
	if name == "" {
		return ctx
	}
	kind := "query"
	if oc.Operation != nil && oc.Operation.Operation != "" {
		kind = string(oc.Operation.Operation)
	}
	client := kind + " " + name
	if header := semantic.ClientOf(ctx); header != "" {
		client = header + " · " + client
	}
	return semantic.WithClient(ctx, client)
}
