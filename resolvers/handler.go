package resolvers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/koujing/koujing/graph"
	"github.com/koujing/koujing/semantic"
)

// HandlerOptions configure the GraphQL handler. The zero value of each field picks its default.
type HandlerOptions struct {
	// Logger receives one line per HTTP request and the details of internal errors, which clients
	// never see; default slog.Default().
	Logger *slog.Logger
	// MaxDepth is how many fields deep an operation may nest; default 12. Deeper operations are
	// refused with QUERY_TOO_DEEP before they run.
	MaxDepth int
	// MaxComplexity caps an operation's cost, default 20,000: one per field, a connection's
	// selection once per item of its page (first), and 1,000 per metric query run. Costlier
	// operations are refused with COMPLEXITY_LIMIT_EXCEEDED before they run.
	MaxComplexity int
	// MaxBodyBytes caps the size of a request body; default 1 MiB. Larger ones are refused with
	// HTTP 413 and REQUEST_TOO_LARGE.
	MaxBodyBytes int64
	// MaxTokens caps the tokens of a GraphQL document, bounding the work of parsing it; default
	// 15,000.
	MaxTokens int
	// BatchWait is how long a dataloader gathers keys before reading them in one batch; default
	// 2ms. Each level of nested lists waits that long once, so it is kept short; on a busy machine
	// a batch may then split in two (gqlgen starts each parent's resolvers in a goroutine of its
	// own), which costs a lookup, never a wrong answer.
	BatchWait time.Duration
	// CatalogReader returns the reader of the definitions that nested fields need, in batches,
	// for one request's caller; default NewCatalogReader. Tests wrap it to count batches.
	CatalogReader func(*semantic.Access) CatalogReader
	// GovernanceReader returns the reader of the metadata store that governance fields need, in
	// batches, for one request's caller; default NewGovernanceReader. Tests wrap it to count
	// batches.
	GovernanceReader func(*semantic.Service, *semantic.Access) GovernanceReader
	// Authenticator says who sends each request. Required: a handler without one refuses every
	// request with 401.
	Authenticator Authenticator
	// DisableIntrospection refuses introspection queries (GraphiQL needs them).
	DisableIntrospection bool
	// ArrowAllocator allocates the plain-text copies of dictionary-encoded columns that Arrow
	// results carry, each released once sent; default memory.NewGoAllocator().
	ArrowAllocator memory.Allocator
}

func (o *HandlerOptions) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 12
	}
	if o.MaxComplexity <= 0 {
		o.MaxComplexity = 20_000
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 15_000
	}
	if o.BatchWait <= 0 {
		o.BatchWait = 2 * time.Millisecond
	}
	if o.CatalogReader == nil {
		o.CatalogReader = NewCatalogReader
	}
	if o.GovernanceReader == nil {
		o.GovernanceReader = NewGovernanceReader
	}
	if o.Authenticator == nil {
		o.Authenticator = refuseAll{}
	}
	if o.ArrowAllocator == nil {
		o.ArrowAllocator = memory.NewGoAllocator()
	}
}

// NewHandler returns the HTTP handler of the GraphQL API over svc:
//
//	POST /graphql, GET /graphql   GraphQL over HTTP (application/json bodies, or query parameters)
//	POST /arrow                   a metric query's result as an Arrow IPC stream (body {"input": …})
//	GET  /audit.jsonl             the tenant's audit log as JSON lines (admins; see auditExportHandler)
//	GET  /lineage/{metric}.svg    a metric's lineage as a picture; .dot as Graphviz DOT, .json as OpenLineage events (see lineageHandler)
//	GET  /                        GraphiQL, to explore the API in a browser
//	GET  /healthz                 200 "ok" while the server is up
//
// Each GraphQL and Arrow request is authenticated and runs as its principal, with that principal's access
// and its own dataloaders; it is logged, and its panics are recovered into INTERNAL errors.
func NewHandler(svc *semantic.Service, opts HandlerOptions) http.Handler {
	opts.setDefaults()
	log := opts.Logger.With("component", "graphql")
	gql := authenticate(svc, opts, log, newGraphQLServer(svc, opts, log))
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", requireJSON(graphQLRequestExample, limitBody(opts.MaxBodyBytes, gql)))
	arrow := authenticate(svc, opts, log, arrowHandler(svc, opts.ArrowAllocator, log))
	mux.Handle("POST /arrow", requireJSON(arrowRequestExample, limitBody(opts.MaxBodyBytes, arrow)))
	mux.Handle("GET /graphql", gql)
	mux.Handle("GET /audit.jsonl", authenticate(svc, opts, log, auditExportHandler(svc, log)))
	mux.Handle("GET /lineage/{file}", authenticate(svc, opts, log, lineageHandler(svc, log)))
	mux.Handle("GET /{$}", playground.Handler("Koujing", "/graphql"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	return logRequests(log, recoverPanics(log, mux))
}

// newGraphQLServer returns the GraphQL executor: the schema with its resolvers, the transports,
// the error presenter and the operation limits. It expects the request's dataloaders in the
// context.
func newGraphQLServer(svc *semantic.Service, opts HandlerOptions, log *slog.Logger) *handler.Server {
	errs := errorPresenter{log: log}
	cfg := graph.Config{Resolvers: &Resolver{svc: svc, arrowMem: opts.ArrowAllocator}}
	setComplexity(&cfg.Complexity)
	srv := handler.New(graph.NewExecutableSchema(cfg))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(opts.MaxTokens)
	srv.SetErrorPresenter(errs.present)
	srv.SetRecoverFunc(errs.recoverPanic)
	if opts.DisableIntrospection {
		srv.Use(introspectionOff{})
	} else {
		srv.Use(extension.Introspection{})
	}
	srv.Use(depthLimit{max: opts.MaxDepth})
	srv.Use(responseWarnings)
	srv.Use(responseQuality)
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	return srv
}

// graphQLRequestExample is what the body of POST /graphql looks like, for error messages.
const graphQLRequestExample = `{"query": "{ domains { name } }"}`

// requireJSON refuses a POST whose body is not JSON with 415, rather than gqlgen's bare
// "transport not supported"; the message shows example, a body that would do.
func requireJSON(example string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, CodeBadRequest,
				"send the request as Content-Type: application/json, with a body such as "+example)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses request bodies of more than max bytes with 413 and REQUEST_TOO_LARGE. It
// reads the body itself, so that the refusal does not depend on how a transport reports a
// failed read.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tooLarge := func() {
			writeError(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge,
				fmt.Sprintf("the request body is larger than the limit of %d bytes; send a shorter document, with large values as variables", max))
		}
		if r.ContentLength > max {
			tooLarge()
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			tooLarge()
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, CodeBadRequest, "the request body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// recoverPanics answers a request whose handler panicked outside the resolvers (whose panics
// gqlgen recovers) with 500 and INTERNAL, and logs the panic.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "http handler panicked", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, CodeInternal, internalMessage)
		}()
		next.ServeHTTP(w, r)
	})
}

// writeError answers with a GraphQL response that carries only an error.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type gqlError struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	body, _ := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{Message: message, Extensions: map[string]any{"code": code}}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// logRequests logs one line per request once it is answered.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.InfoContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start))
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
