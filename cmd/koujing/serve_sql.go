package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"log/slog"
	"net"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/pgwire"
	"github.com/koujing/koujing/semantic"
)

// sqlFlags say where the SQL API listens and which certificate it offers.
type sqlFlags struct {
	addr    string
	tlsCert string
	tlsKey  string
}

func (f *sqlFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "sql-addr", pgwire.DefaultAddr, "address of the SQL API (the PostgreSQL wire protocol, for psql and BI tools); empty or off disables it")
	fs.StringVar(&f.tlsCert, "sql-tls-cert", "", "PEM certificate the SQL API offers to clients that ask for TLS (with --sql-tls-key); without it they are told N")
	fs.StringVar(&f.tlsKey, "sql-tls-key", "", "PEM private key of --sql-tls-cert")
}

// check refuses a certificate without its key, and the other way round.
func (f *sqlFlags) check() error {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageError("give --sql-tls-cert and --sql-tls-key together")
	}
	return nil
}

// start serves the SQL API with the same service and authenticator as GraphQL, in its own
// goroutine. stop shuts it down: idle connections close at once, running statements may finish
// until ctx ends, and it returns once every connection's goroutine is gone. With the API
// disabled, stop does nothing.
func (f *sqlFlags) start(svc *semantic.Service, authn *authz.Authenticator, rt *runtimeFlags) (stop func(context.Context) error, err error) {
	if f.addr == "" || f.addr == "off" {
		return func(context.Context) error { return nil }, nil
	}
	opts := pgwire.Options{Authenticator: authn, Logger: slog.With("component", "pgwire"), TimeZone: rt.timezone, MaxLimit: rt.maxRows}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, usageError("--sql-tls-cert/--sql-tls-key: %v", err)
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, err
	}
	srv := pgwire.New(svc, opts)
	slog.Info("serving SQL", "addr", ln.Addr().String(), "tls", opts.TLS != nil, "try", "PGPASSWORD=demo psql -h "+hostOf(ln.Addr())+" -p "+portOf(ln.Addr())+" -U demo koujing")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serveErr := <-done; !errors.Is(serveErr, pgwire.ErrServerClosed) {
			return serveErr
		}
		return err
	}, nil
}

func hostOf(a net.Addr) string { h, _, _ := net.SplitHostPort(a.String()); return h }

func portOf(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }
