package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/source"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// The codes of extensions.code that the API sends besides gqlgen's own (GRAPHQL_PARSE_FAILED,
// GRAPHQL_VALIDATION_FAILED, COMPLEXITY_LIMIT_EXCEEDED).
const (
	CodeNotFound          = "NOT_FOUND"
	CodeInvalidQuery      = "INVALID_QUERY"
	CodeForbidden         = "FORBIDDEN"
	CodeUnauthenticated   = "UNAUTHENTICATED"
	CodeInvalidPolicy     = "INVALID_POLICY"
	CodeConflict          = "CONFLICT"
	CodeInvalidDefinition = "INVALID_DEFINITION"
	CodeStoreUnavailable  = "STORE_UNAVAILABLE"
	CodeTooManyRows       = "TOO_MANY_ROWS"
	CodeResourceExhausted = "RESOURCE_EXHAUSTED"
	CodeTimeout           = "TIMEOUT"
	CodeSourceUnavailable = "SOURCE_UNAVAILABLE"
	CodeCancelled         = "CANCELLED"
	CodeQueryTooDeep      = "QUERY_TOO_DEEP"
	CodeRequestTooLarge   = "REQUEST_TOO_LARGE"
	CodeBadRequest        = "BAD_REQUEST"
	CodeInternal          = "INTERNAL"
)

// internalMessage is all a client learns of an error it did not cause.
const internalMessage = "internal error"

// errorClasses maps each class of domain error to its code; the first match wins. The error's
// own message is sent with it: these messages are written for the caller and say how to fix the
// request. Timeouts and cancellations get a message of their own instead of the context's.
var errorClasses = []struct {
	class   error
	code    string
	message string
}{
	{semantic.ErrNotFound, CodeNotFound, ""},
	{semantic.ErrInvalidQuery, CodeInvalidQuery, ""},
	{semantic.ErrForbidden, CodeForbidden, ""},
	{authz.ErrForbidden, CodeForbidden, ""},
	{authz.ErrUnauthenticated, CodeUnauthenticated, ""},
	// The review workflow's: a step the request's state does not take, or proposed definitions
	// that do not load.
	{semantic.ErrConflict, CodeConflict, ""},
	{semantic.ErrInvalidDefinition, CodeInvalidDefinition, ""},
	{store.ErrConflict, CodeConflict, "another change to the same records came first; read them again and retry"},
	{store.ErrUnavailable, CodeStoreUnavailable, "the metadata store is unavailable right now; nothing was changed; retry once it is back"},
	{authz.ErrInvalidPolicy, CodeInvalidPolicy, ""},
	{authz.ErrRuleExists, CodeConflict, ""},
	{authz.ErrRuleNotFound, CodeNotFound, ""},
	{authz.ErrKeyNotFound, CodeNotFound, ""},
	// The store's details (hosts, files) are logged, not sent.
	{authz.ErrStoreUnavailable, CodeStoreUnavailable, "the policy store is unavailable right now; nothing was changed; retry once it is back"},
	{engine.ErrTooManyRows, CodeTooManyRows, ""},
	{exec.ErrMemoryLimit, CodeResourceExhausted, ""},
	// The driver's message names hosts and ports, which are not the caller's business; it is logged.
	{source.ErrUnavailable, CodeSourceUnavailable, "a data source is unavailable right now; retry the query once it is back"},
	{context.DeadlineExceeded, CodeTimeout, "the query took longer than it may; narrow it with filters or a time range, or group by fewer dimensions"},
	{context.Canceled, CodeCancelled, "the request was cancelled before it finished"},
}

func init() {
	// Refusing an operation for its shape is a protocol error, like a validation failure: HTTP 422.
	errcode.RegisterErrorType(CodeQueryTooDeep, errcode.KindProtocol)
}

// errorClass returns the code of an error of a known class, and the message to send instead of
// the error's own ("" to send its own); ok is false for an error of no known class, which is
// internal.
func errorClass(err error) (code, message string, ok bool) {
	for _, c := range errorClasses {
		if errors.Is(err, c.class) {
			return c.code, c.message, true
		}
	}
	return "", "", false
}

func notFoundf(format string, args ...any) error {
	return &semantic.QueryError{Class: semantic.ErrNotFound, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error {
	return &semantic.QueryError{Class: semantic.ErrInvalidQuery, Msg: fmt.Sprintf(format, args...)}
}

// errorPresenter is the one place errors become GraphQL errors with an extensions.code. Every
// error of a response passes through it: the resolvers', the dataloaders', the extensions', and
// gqlgen's own.
type errorPresenter struct{ log *slog.Logger }

func (p errorPresenter) present(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if code, message, ok := errorClass(err); ok {
		if code == CodeSourceUnavailable || code == CodeStoreUnavailable {
			p.log.WarnContext(ctx, "source or store unavailable", "path", gqlErr.Path.String(), "err", err)
		}
		if message != "" {
			gqlErr.Message = message
		}
		errcode.Set(gqlErr, code)
		return gqlErr
	}
	if code, ok := gqlErr.Extensions["code"]; ok && gqlErr.Err == nil {
		// gqlgen's parse, validation and complexity errors, and the depth limit's. A variable's
		// value is checked before the operation runs, with the variable only in the path: say
		// which one in the message too.
		if code == errcode.ValidationFailed && len(gqlErr.Path) > 1 && gqlErr.Path[0] == ast.PathName("variable") {
			gqlErr.Message = "variable $" + gqlErr.Path[1:].String() + ": " + gqlErr.Message
		}
		return gqlErr
	}
	if gqlErr.Err == nil && len(gqlErr.Path) == 0 {
		// gqlgen's transports report a body they cannot decode without a code; the message is
		// about the request, so it may be sent, without the body it quotes.
		msg, _, _ := strings.Cut(gqlErr.Message, " body:")
		return &gqlerror.Error{Message: msg, Locations: gqlErr.Locations, Extensions: map[string]any{"code": CodeBadRequest}}
	}
	var logged *loggedError
	if !errors.As(err, &logged) {
		p.log.ErrorContext(ctx, "graphql field failed", "path", gqlErr.Path.String(), "err", err)
	}
	return &gqlerror.Error{
		Message:    internalMessage,
		Path:       gqlErr.Path,
		Locations:  gqlErr.Locations,
		Extensions: map[string]any{"code": CodeInternal},
	}
}

// loggedError is an internal error whose details were logged where it happened.
type loggedError struct{ msg string }

func (e *loggedError) Error() string { return e.msg }

// recoverPanic turns a panic in a resolver into an INTERNAL error, logging the value and the
// stack; the request goes on, and so does the server.
func (p errorPresenter) recoverPanic(ctx context.Context, v any) error {
	path := ""
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		path = fc.Path().String()
	}
	p.log.ErrorContext(ctx, "graphql resolver panicked", "path", path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return &loggedError{msg: fmt.Sprintf("panic: %v", v)}
}
