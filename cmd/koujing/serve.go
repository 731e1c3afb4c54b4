package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/koujing/koujing/mcp"
	"github.com/koujing/koujing/resolvers"
)

// runServe loads the definitions and serves GraphQL at /graphql, Arrow results at /arrow,
// GraphiQL at / and MCP at /mcp until it is interrupted, then drains in-flight requests.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[--addr HOST:PORT] [--models DIR] [--demo-scale S] [--policy FILE | --policy-url URL]", stderr)
	var sv servingFlags
	sv.register(fs)
	var sqlf sqlFlags
	sqlf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if err := sqlf.check(); err != nil {
		return err
	}
	r, authn, closeAll, err := sv.open(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	// The workflow's webhook calls go out while the server runs, and stop before the store closes.
	defer sv.sf.startWebhooks(ctx, r.service.Governance())()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// SQL over the PostgreSQL protocol, for psql and BI tools: the same service and identities.
	stopSQL, err := sqlf.start(r.service, authn, &sv.rt)
	if err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", resolvers.NewHandler(r.service, resolvers.HandlerOptions{Authenticator: authn}))
	mux.Handle("/mcp", mcp.NewServer(r.service, mcp.Options{Logger: slog.Default()}).Handler(authn))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log := slog.With("component", "http")
	log.Info("serving", "graphiql", fmt.Sprintf("http://%s/", ln.Addr()), "graphql", fmt.Sprintf("http://%s/graphql", ln.Addr()),
		"arrow", fmt.Sprintf("http://%s/arrow", ln.Addr()), "mcp", fmt.Sprintf("http://%s/mcp", ln.Addr()),
		"models", len(r.catalog.Models()), "metrics", len(r.catalog.Metrics()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopSQL(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stopSQL(shutdown); err != nil {
		slog.Error("SQL API shutdown", "err", err)
	}
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
