package mcp

import (
	"context"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/semantic"
)

// withClient is middleware that runs every request as asked by the session's client, for the
// audit log and lineage (see semantic.WithClient).
func withClient(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		return next(semantic.WithClient(ctx, clientOf(req)), method, req)
	}
}

// clientOf names the client that sent req: the name and version it gave ("claude-ai 0.1.0"),
// in its initialize request or, under protocol versions that keep no session, in each request's
// _meta; else the X-Koujing-Client header of an HTTP request. "" when none says.
func clientOf(req sdk.Request) string {
	if r, ok := req.(interface{ ClientInfo() *sdk.Implementation }); ok {
		if info := r.ClientInfo(); info != nil && info.Name != "" {
			return strings.TrimSpace(info.Name + " " + info.Version)
		}
	}
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		return extra.Header.Get(semantic.ClientHeader)
	}
	return ""
}
