package semantic

import (
	"errors"
	"fmt"
)

// The classes of query errors. Every error a query returns wraps one of these (check with
// errors.Is); surfaces map each class to their own codes once (GraphQL extensions.code,
// PostgreSQL SQLSTATE).
var (
	// ErrNotFound: the query names a metric, dimension or model that does not exist (or that the
	// caller may not see — the two are indistinguishable on purpose).
	ErrNotFound = errors.New("not found")
	// ErrInvalidQuery: the query is malformed or asks for something the definitions cannot answer.
	ErrInvalidQuery = errors.New("invalid query")
	// ErrInvalidDefinition: proposed definitions do not load with the published ones.
	ErrInvalidDefinition = errors.New("invalid definition")
	// ErrConflict: a change request is not in a state that takes the action (approving a
	// withdrawn request), or it changed since the caller read it.
	ErrConflict = errors.New("conflict")
)

// QueryError is an error in a metric query. Its message says what is wrong and how to fix it;
// Class is ErrNotFound or ErrInvalidQuery.
type QueryError struct {
	Class error
	Msg   string
}

func (e *QueryError) Error() string { return e.Msg }
func (e *QueryError) Unwrap() error { return e.Class }

func notFound(format string, args ...any) error {
	return &QueryError{Class: ErrNotFound, Msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &QueryError{Class: ErrInvalidQuery, Msg: fmt.Sprintf(format, args...)}
}

// didYouMean returns " Did you mean X?" for the candidate nearest to name (see closest), or ""
// when none is near enough to be a plausible typo.
func didYouMean(name string, candidates []string) string {
	if c := closest(name, candidates); c != "" {
		return fmt.Sprintf(" Did you mean %q?", c)
	}
	return ""
}
