package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/koujing/koujing/engine/source"
)

// ErrNoTable is wrapped by the error TableSchema returns for a table that does not exist (or that
// the connection's user cannot see). The error is a *NoTableError, which names tables that do.
var ErrNoTable = errors.New("no such table")

// ErrStatementTimeout is wrapped by the error of a statement that PostgreSQL cancelled because it
// ran longer than the connection's statement timeout (SQLSTATE 57014 from statement_timeout).
// Retrying the same statement fails the same way; the query must get cheaper or the timeout longer.
var ErrStatementTimeout = errors.New("the statement exceeded the statement timeout")

// classify returns err, an error from pgx, sorted into Koujing's classes: context cancellation and
// deadlines as they are (still matching context.Canceled and context.DeadlineExceeded); anything
// that means the database could not be reached or the session was lost wrapped in
// source.ErrUnavailable; a statement timeout wrapped in ErrStatementTimeout; and other errors of
// the server (syntax, data, permissions) as they are, their messages ending in the SQLSTATE.
// Callers wrap the result with what they were doing.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// pgx's own text starts with "failed to connect to …"; say where we went instead.
		inner := errors.Unwrap(connectErr)
		if inner == nil {
			inner = err
		}
		where := "connect"
		if cfg := connectErr.Config; cfg != nil {
			where = fmt.Sprintf("connect to %s:%d as %s", cfg.Host, cfg.Port, cfg.User)
		}
		var pgErr *pgconn.PgError
		if errors.As(inner, &pgErr) && !unavailableState(pgErr) {
			// The server answered and refused: a wrong password or database is not fixed by waiting.
			return fmt.Errorf("%s: %w", where, inner)
		}
		return fmt.Errorf("%w: %s: %w", source.ErrUnavailable, where, inner)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case unavailableState(pgErr):
			return fmt.Errorf("%w: the server ended the session: %w", source.ErrUnavailable, err)
		case pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout"):
			return fmt.Errorf("%w; make the query cheaper or raise the connection's statement timeout (%w)", ErrStatementTimeout, err)
		}
		return err
	}
	if connectionLost(err) {
		return fmt.Errorf("%w: the connection was lost: %w", source.ErrUnavailable, err)
	}
	return err
}

// unavailableState reports whether a server error means the session is gone or cannot start now,
// so that the same query may succeed later: connection exceptions (class 08), the administrator
// or a crash ending sessions (57P01, 57P02), the server starting up (57P03), too many connections
// (53300), and any FATAL error, after which the server closes the session.
func unavailableState(e *pgconn.PgError) bool {
	switch {
	case strings.HasPrefix(e.Code, "08"):
		return true
	case e.Code == "57P01", e.Code == "57P02", e.Code == "57P03", e.Code == "53300":
		return true
	case e.Code == "28000", e.Code == "28P01", strings.HasPrefix(e.Code, "3D"):
		// Authentication and unknown-database errors are FATAL too, but are configuration.
		return false
	}
	return strings.EqualFold(e.Severity, "FATAL") || strings.EqualFold(e.Severity, "PANIC")
}

// connectionLost reports whether err is a network failure: the socket was closed, reset or
// timed out, or pgx had already closed the connection after such a failure.
func connectionLost(err error) bool {
	if errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ETIMEDOUT) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) || pgconn.Timeout(err) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
