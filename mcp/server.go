// Package mcp serves Koujing to AI assistants over the Model Context Protocol: tools that search
// the catalog, describe and explain metrics, list dimensions and their values, and run metric
// queries. Every tool asks the semantic layer as the caller — the principal of an HTTP request's
// credentials, or the one a stdio server was started for — so an assistant sees exactly what
// that caller sees over GraphQL, and gets the same numbers.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// Options configure a Server. The zero value of each field picks its default.
type Options struct {
	// Logger receives internal errors, whose details callers never see; default slog.Default().
	Logger *slog.Logger
	// MaxRows is the most rows query_metrics returns, default 100: a larger answer is cut there
	// with a note saying so, as a model reads every row it is given.
	MaxRows int
	// Version is the server's version announced to clients; default "dev".
	Version string
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxRows <= 0 {
		o.MaxRows = defaultMaxRows
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// defaultMaxRows is how many rows query_metrics returns unless Options.MaxRows says otherwise.
const defaultMaxRows = 100

// Server is Koujing's MCP server over one service. Serve it over HTTP with Handler and over a
// stream such as stdio with Run; both may run at once. It is safe for concurrent use.
type Server struct {
	svc  *semantic.Service
	opts Options
	log  *slog.Logger
	mcp  *sdk.Server
}

// NewServer returns the MCP server of svc, with its tools.
func NewServer(svc *semantic.Service, opts Options) *Server {
	opts.setDefaults()
	s := &Server{svc: svc, opts: opts, log: opts.Logger.With("component", "mcp")}
	s.mcp = sdk.NewServer(&sdk.Implementation{Name: "koujing", Title: "Koujing (口径) metrics", Version: opts.Version},
		&sdk.ServerOptions{Instructions: instructions, Logger: s.log})
	s.mcp.AddReceivingMiddleware(withClient)
	s.addTools()
	return s
}

// Caller says who makes a tool call. It is asked at every call, so that a token that expires or
// a key that is revoked during a long session stops working; its errors wrap
// authz.ErrUnauthenticated.
type Caller func() (*authz.Principal, error)

type callerKey struct{}

// withCaller returns ctx carrying the caller of the tool calls made under it. The SDK hands the
// context a session is connected with, and an HTTP request's, on to the tool handlers.
func withCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// access returns the catalog as the caller of a tool call may see and use it. A call without a
// caller is a wiring mistake, refused rather than served as anyone.
func (s *Server) access(ctx context.Context) (*semantic.Access, error) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok {
		return nil, fmt.Errorf("%w: the call reached the tools without a caller", authz.ErrUnauthenticated)
	}
	who, err := c()
	if err != nil {
		return nil, err
	}
	return s.svc.Access(who)
}

// Run serves one client over t, such as &mcp.StdioTransport{}, until the client goes away or ctx
// is done. Every call is made as caller.
func (s *Server) Run(ctx context.Context, t sdk.Transport, caller Caller) error {
	return s.mcp.Run(withCaller(ctx, caller), t)
}

// Authenticator says who sends an HTTP request: *authz.Authenticator, which verifies JWT bearer
// tokens and API keys as for GraphQL, and in demo mode lets requests without credentials run as
// the demo user.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// Handler returns MCP's Streamable HTTP transport, stateless: each POST is one exchange, made as
// the principal of the request's credentials (Authorization: Bearer TOKEN, or X-API-Key), with
// no session kept between requests, which suits replicas behind a load balancer and serves the
// protocol's newest version. A request whose credentials are missing (outside demo mode),
// invalid or expired is answered 401 with GraphQL's UNAUTHENTICATED error body. A client that
// goes away cancels the call it was waiting for.
func (s *Server) Handler(authn Authenticator) http.Handler {
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.mcp },
		&sdk.StreamableHTTPOptions{Stateless: true, Logger: s.log, PropagateRequestCancellation: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := authn.Authenticate(r)
		if err == nil {
			_, err = s.svc.Access(who)
		}
		if err != nil {
			s.log.WarnContext(r.Context(), "request refused", "remote", r.RemoteAddr, "err", err)
			writeUnauthenticated(w, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(withCaller(r.Context(), func() (*authz.Principal, error) { return who, nil })))
	})
}

// writeUnauthenticated answers 401 with the error body GraphQL sends: what was wrong with the
// credentials, which never quotes them.
func writeUnauthenticated(w http.ResponseWriter, err error) {
	msg := strings.TrimPrefix(err.Error(), "unauthenticated: ")
	if !errors.Is(err, authz.ErrUnauthenticated) {
		msg = "the credentials cannot be used: " + strings.TrimPrefix(err.Error(), "forbidden: ")
	}
	type gqlError struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	body, _ := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{Message: msg, Extensions: map[string]any{"code": codeUnauthenticated}}}})
	w.Header().Set("WWW-Authenticate", `Bearer realm="koujing"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(body)
}
