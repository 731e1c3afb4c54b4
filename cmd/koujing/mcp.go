package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/mcp"
)

// runMCP serves the MCP tools over stdin and stdout to one assistant that started the command,
// as the principal of --token (or the demo user, in demo mode), until the assistant closes
// stdin or the command is interrupted. Logs go to stderr: stdout carries the protocol.
func runMCP(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("mcp", "[--token TOKEN] [--models DIR] [--demo-scale S] [--policy FILE | --policy-url URL] [--store S]", stderr)
	var sv servingFlags
	sv.register(fs)
	token := fs.String("token", "", "answer as the principal of this JWT or API key, checked again at every call (default: the demo\nuser in demo mode; required otherwise)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	r, authn, closeAll, err := sv.open(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	caller := func() (*authz.Principal, error) { return authn.AuthenticateToken(*token) }
	who, err := caller()
	if err != nil {
		return usageError("--token: %v", err)
	}
	slog.Info("serving MCP over stdio", "subject", who.Subject, "tenant", who.Tenant, "roles", who.Roles,
		"models", len(r.catalog.Models()), "metrics", len(r.catalog.Metrics()))
	srv := mcp.NewServer(r.service, mcp.Options{Logger: slog.Default()})
	err = srv.Run(ctx, &sdk.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}}, caller)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("serving MCP: %w", err)
	}
	return nil
}

// nopWriteCloser is a writer whose Close does nothing: the process's stdout outlives the session.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
