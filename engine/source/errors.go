package source

import "errors"

// ErrUnavailable is wrapped by errors from a source that cannot be reached or lost its connection
// mid-query: the query may succeed when retried once the source is back. Surfaces report it as
// SOURCE_UNAVAILABLE.
var ErrUnavailable = errors.New("source unavailable")
