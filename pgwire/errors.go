package pgwire

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/source"
	"github.com/koujing/koujing/semantic"
)

// The SQLSTATEs the SQL API sends.
const (
	codeFeatureNotSupported = "0A000"
	codeInvalidAuthSpec     = "28000"
	codeInvalidPassword     = "28P01"
	codeProtocolViolation   = "08P01"
	codeSyntaxError         = "42601"
	codeUndefinedTable      = "42P01"
	codeUndefinedColumn     = "42703"
	codeUndefinedFunction   = "42883"
	codeUndefinedObject     = "42704"
	codeUndefinedParameter  = "42P02"
	codeGroupingError       = "42803"
	codeDatatypeMismatch    = "42804"
	codeAmbiguousColumn     = "42702"
	codeInsufficientPriv    = "42501"
	codeInvalidParameter    = "22023"
	codeInvalidText         = "22P02"
	codeDivisionByZero      = "22012"
	codeQueryCanceled       = "57014"
	codeAdminShutdown       = "57P01"
	codeProgramLimit        = "54000"
	codeOutOfMemory         = "53200"
	codeInFailedTransaction = "25P02"
	codeInvalidCursorName   = "34000"
	codeInvalidStatement    = "26000"
	codeSystemError         = "58000"
	codeInternal            = "XX000"
	codeCardinality         = "21000"
	codeNullNotAllowed      = "22004"
)

// sqlError is an error with a SQLSTATE, sent to the client as an ErrorResponse. Its message is
// written for the person at the client: what was wrong and what to do instead.
type sqlError struct {
	code    string
	msg     string
	hint    string
	detail  string
	pos     int32 // 1-based character position in the statement, 0 for none
	fatal   bool
	wrapped error
}

func (e *sqlError) Error() string { return e.msg }
func (e *sqlError) Unwrap() error { return e.wrapped }

func errorf(code, format string, args ...any) *sqlError {
	return &sqlError{code: code, msg: fmt.Sprintf(format, args...)}
}

// withHint adds a hint and returns the error.
func (e *sqlError) withHint(format string, args ...any) *sqlError {
	e.hint = fmt.Sprintf(format, args...)
	return e
}

// at places the error at a byte offset of the statement (-1: nowhere).
func (e *sqlError) at(offset int32) *sqlError {
	if offset >= 0 {
		e.pos = offset + 1
	}
	return e
}

// unsupported refuses SQL the semantic layer cannot express, saying what to write instead.
func unsupported(what, instead string) *sqlError {
	return &sqlError{code: codeFeatureNotSupported, msg: what + " is not supported by the semantic layer", hint: instead}
}

// errorClasses maps each class of the core's errors to a SQLSTATE; the first match wins, as in
// the GraphQL surface's error presenter. A message, when given, replaces the error's own: the
// context's and the source driver's messages are not the caller's business.
var errorClasses = []struct {
	class   error
	code    string
	message string
}{
	{semantic.ErrNotFound, codeUndefinedObject, ""},
	{semantic.ErrInvalidQuery, codeInvalidParameter, ""},
	{semantic.ErrForbidden, codeInsufficientPriv, ""},
	{authz.ErrForbidden, codeInsufficientPriv, ""},
	{authz.ErrUnauthenticated, codeInvalidPassword, ""},
	{engine.ErrTooManyRows, codeProgramLimit, ""},
	{exec.ErrMemoryLimit, codeOutOfMemory, ""},
	{source.ErrUnavailable, codeSystemError, "a data source is unavailable right now; retry the query once it is back"},
	{context.DeadlineExceeded, codeQueryCanceled, "canceling statement due to statement timeout; narrow the query with filters or a time range, or group by fewer dimensions"},
	{context.Canceled, codeQueryCanceled, "canceling statement due to user request"},
}

// toSQLError returns the error as the client sees it. An error of no known class is internal:
// the client learns only that, and the caller logs it.
func toSQLError(err error) (e *sqlError, internal bool) {
	if errors.As(err, &e) {
		return e, false
	}
	for _, c := range errorClasses {
		if errors.Is(err, c.class) {
			msg := c.message
			if msg == "" {
				msg = err.Error()
			}
			return &sqlError{code: c.code, msg: msg, wrapped: err}, false
		}
	}
	return &sqlError{code: codeInternal, msg: "internal error", wrapped: err}, true
}

// response returns the ErrorResponse message of the error.
func (e *sqlError) response() *pgproto3.ErrorResponse {
	sev := "ERROR"
	if e.fatal {
		sev = "FATAL"
	}
	return &pgproto3.ErrorResponse{Severity: sev, SeverityUnlocalized: sev, Code: e.code, Message: e.msg,
		Detail: e.detail, Hint: e.hint, Position: e.pos}
}
