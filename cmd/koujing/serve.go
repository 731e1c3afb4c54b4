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

	"github.com/koujing/koujing/resolvers"
)

// runServe loads the definitions and serves GraphQL at /graphql and GraphiQL at / until it is
// interrupted, then drains in-flight requests.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[--addr HOST:PORT] [--models DIR] [--demo-scale S] [--policy FILE | --policy-url URL]", stderr)
	var rt runtimeFlags
	rt.register(fs)
	var af accessFlags
	af.register(fs)
	var sqlf sqlFlags
	sqlf.register(fs)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if af.policy == "" && af.policyURL == "" && isPostgresURL(sf.store) {
		// Replicas sharing a metadata store share its policy too, unless told otherwise.
		af.policyURL, af.policySchema = sf.store, sf.storeSchema
	}
	if err := af.check(); err != nil {
		return err
	}
	if err := sqlf.check(); err != nil {
		return err
	}
	r, err := rt.load(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	gov, closeStore, err := sf.openGovernance(ctx, r, rt.models)
	if err != nil {
		return err
	}
	defer closeStore()
	r.govern(gov)
	authorizer, closePolicy, err := af.openPolicy(ctx, r.service.Catalog, rt.models)
	if err != nil {
		return err
	}
	defer closePolicy()
	authn, err := af.authenticator(authorizer, rt.models == "")
	if err != nil {
		return err
	}
	r.authorize(authorizer)
	// The policy file edited by hand, or another replica's change, applies without a restart.
	// Watch returns once it watches (the database's listener runs on, and reconnects, in its own
	// goroutine), so a replica that answers requests also hears of changes; the reload after it
	// takes in a change made between the first load and then, which no notification reports.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	if err := authorizer.Watch(watchCtx); err != nil {
		slog.Error("watching the access policy failed; changes made elsewhere apply after a restart", "err", err)
	} else if err := authorizer.Reload(ctx); err != nil {
		return err
	}
	// Definitions published on another replica serve here too.
	if err := gov.Watch(watchCtx); err != nil {
		slog.Error("watching the metadata store failed; definitions published elsewhere serve after a restart", "err", err)
	} else if err := gov.Reload(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// SQL over the PostgreSQL protocol, for psql and BI tools: the same service and identities.
	stopSQL, err := sqlf.start(r.service, authn, &rt)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           resolvers.NewHandler(r.service, resolvers.HandlerOptions{Authenticator: authn}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log := slog.With("component", "http")
	log.Info("serving", "graphiql", fmt.Sprintf("http://%s/", ln.Addr()), "graphql", fmt.Sprintf("http://%s/graphql", ln.Addr()),
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
