package mcp

import (
	"context"
	"errors"
	"fmt"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/source"
	"github.com/koujing/koujing/semantic"
)

// The codes a tool error starts with: GraphQL's, so that an assistant and a person reading both
// APIs see the same words.
const (
	codeNotFound          = "NOT_FOUND"
	codeInvalidQuery      = "INVALID_QUERY"
	codeForbidden         = "FORBIDDEN"
	codeUnauthenticated   = "UNAUTHENTICATED"
	codeTooManyRows       = "TOO_MANY_ROWS"
	codeResourceExhausted = "RESOURCE_EXHAUSTED"
	codeTimeout           = "TIMEOUT"
	codeSourceUnavailable = "SOURCE_UNAVAILABLE"
	codeCancelled         = "CANCELLED"
	codeInternal          = "INTERNAL"
)

// errorClasses maps each class of error to its code; the first match wins. The error's own
// message is sent with it — these are written for the caller and say how to fix the call —
// unless the class has a message of its own.
var errorClasses = []struct {
	class   error
	code    string
	message string
}{
	{semantic.ErrNotFound, codeNotFound, ""},
	{semantic.ErrInvalidQuery, codeInvalidQuery, ""},
	{semantic.ErrForbidden, codeForbidden, ""},
	{authz.ErrForbidden, codeForbidden, ""},
	{authz.ErrUnauthenticated, codeUnauthenticated, ""},
	{engine.ErrTooManyRows, codeTooManyRows, ""},
	{exec.ErrMemoryLimit, codeResourceExhausted, ""},
	// The driver's message names hosts and ports; it is logged.
	{source.ErrUnavailable, codeSourceUnavailable, "a data source is unavailable right now; retry once it is back"},
	{context.DeadlineExceeded, codeTimeout, "the query took longer than it may; narrow it with filters or a time range, or group by fewer dimensions"},
	{context.Canceled, codeCancelled, "the call was cancelled before it finished"},
}

// toolError is what a failed tool call tells the assistant: "CODE: message", with the message
// of an error of no known class withheld and logged.
func (s *Server) toolError(ctx context.Context, tool string, err error) error {
	for _, c := range errorClasses {
		if !errors.Is(err, c.class) {
			continue
		}
		msg := c.message
		if c.code == codeSourceUnavailable {
			s.log.WarnContext(ctx, "source unavailable", "tool", tool, "err", err)
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s", c.code, msg)
	}
	s.log.ErrorContext(ctx, "tool failed", "tool", tool, "err", err)
	return fmt.Errorf("%s: internal error", codeInternal)
}

// invalidf is an error in how a tool was called.
func invalidf(format string, args ...any) error {
	return &semantic.QueryError{Class: semantic.ErrInvalidQuery, Msg: fmt.Sprintf(format, args...)}
}
