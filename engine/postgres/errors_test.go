package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/koujing/koujing/engine/source"
)

// TestClassify sorts errors as pgx returns them into Koujing's classes. The faults themselves
// (a server that is down, a terminated backend, a statement timeout) are in conn_test.go.
func TestClassify(t *testing.T) {
	pgErr := func(severity, code, message string) error {
		return &pgconn.PgError{Severity: severity, Code: code, Message: message}
	}
	const (
		plain = iota
		unavailable
		timeout
		cancelled
	)
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"syntax", pgErr("ERROR", "42601", "syntax error"), plain},
		{"division by zero", pgErr("ERROR", "22012", "division by zero"), plain},
		{"cancelled by someone", pgErr("ERROR", "57014", "canceling statement due to user request"), plain},
		{"statement timeout", pgErr("ERROR", "57014", "canceling statement due to statement timeout"), timeout},
		{"connection failure", pgErr("FATAL", "08006", "connection failure"), unavailable},
		{"admin shutdown", pgErr("FATAL", "57P01", "terminating connection due to administrator command"), unavailable},
		{"crash shutdown", pgErr("FATAL", "57P02", "terminating connection because of crash of another server process"), unavailable},
		{"starting up", pgErr("FATAL", "57P03", "the database system is starting up"), unavailable},
		{"too many connections", pgErr("FATAL", "53300", "too many clients already"), unavailable},
		{"idle session timeout", pgErr("FATAL", "57P05", "terminating connection due to idle-session timeout"), unavailable},
		{"wrong password", pgErr("FATAL", "28P01", "password authentication failed"), plain},
		{"no database", pgErr("FATAL", "3D000", `database "x" does not exist`), plain},
		{"EOF", fmt.Errorf("receive message: %w", io.EOF), unavailable},
		{"unexpected EOF", io.ErrUnexpectedEOF, unavailable},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, unavailable},
		{"closed", fmt.Errorf("conn: %w", pgconn.ErrConnClosed), unavailable},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), cancelled},
		{"deadline", context.DeadlineExceeded, cancelled},
		{"other", errors.New("something else"), plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v, which no longer wraps the original", tt.err, got)
			}
			if is := errors.Is(got, source.ErrUnavailable); is != (tt.want == unavailable) {
				t.Errorf("classify(%v) = %v: wraps ErrUnavailable %v, want %v", tt.err, got, is, !is)
			}
			if is := errors.Is(got, ErrStatementTimeout); is != (tt.want == timeout) {
				t.Errorf("classify(%v) = %v: wraps ErrStatementTimeout %v, want %v", tt.err, got, is, !is)
			}
			if is := errors.Is(got, context.Canceled) || errors.Is(got, context.DeadlineExceeded); is != (tt.want == cancelled) {
				t.Errorf("classify(%v) = %v: a cancellation %v, want %v", tt.err, got, is, !is)
			}
			var pe *pgconn.PgError
			if errors.As(tt.err, &pe) && (!errors.As(got, &pe) || !strings.Contains(got.Error(), pe.Code)) {
				t.Errorf("classify(%v) = %v, want the SQLSTATE kept", tt.err, got)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}
