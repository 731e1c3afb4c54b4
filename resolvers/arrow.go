package resolvers

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/semantic"
)

// arrowContentType is the media type of an Arrow IPC stream.
const arrowContentType = "application/vnd.apache.arrow.stream"

// arrowRequestExample is what the body of POST /arrow looks like, for error messages.
const arrowRequestExample = `{"input": {"metrics": ["gmv_paid"], "dimensions": ["orders.region"]}}`

// arrowBufferBytes is how much of a stream is gathered before it is written to the connection;
// each batch is flushed once written whatever its size.
const arrowBufferBytes = 256 << 10

// arrowHandler answers POST /arrow: the metric query in the body's input — the variables of
// GraphQL's query(input:) as they are — run as the request's principal, streamed back as an Arrow
// IPC stream (see semantic.Result.WriteArrowIPC), batch by batch. A query that fails gets the
// JSON error body and code GraphQL would send, with an HTTP status to match; a stream that
// cannot be finished is cut off without its end marker, so that no client takes it for whole.
func arrowHandler(svc *semantic.Service, mem memory.Allocator, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := readArrowRequest(r.Body)
		if err != nil {
			writeHTTPError(w, r, log, err)
			return
		}
		res, err := svc.Query(r.Context(), accessFor(r.Context()), q)
		if err != nil {
			writeHTTPError(w, r, log, err)
			return
		}
		defer res.Release()
		w.Header().Set("Content-Type", arrowContentType)
		w.WriteHeader(http.StatusOK)
		buf := bufio.NewWriterSize(w, arrowBufferBytes)
		rc := http.NewResponseController(w)
		flush := func() error {
			if err := buf.Flush(); err != nil {
				return err
			}
			return rc.Flush()
		}
		err = res.WriteArrowIPC(buf, mem, flush)
		if err == nil {
			err = flush()
		}
		if err != nil {
			if r.Context().Err() == nil {
				log.WarnContext(r.Context(), "arrow stream cut off", "rows", res.Rows, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
	})
}

// readArrowRequest reads the body of POST /arrow: {"input": {…}}, the input as GraphQL's query
// takes it.
func readArrowRequest(body io.Reader) (semantic.MetricQuery, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req struct {
		Input *semantic.QueryInput `json:"input"`
	}
	if err := dec.Decode(&req); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if strings.HasPrefix(msg, "unknown field") && !strings.Contains(msg, ".") {
			msg += ": the query goes under input"
		}
		return semantic.MetricQuery{}, badRequestf("the body is not a metric query (%s); send %s", msg, arrowRequestExample)
	}
	if _, err := dec.Token(); err != io.EOF {
		return semantic.MetricQuery{}, badRequestf("the body has more than one JSON value; send one, such as %s", arrowRequestExample)
	}
	if req.Input == nil {
		return semantic.MetricQuery{}, badRequestf("the body has no input; send %s", arrowRequestExample)
	}
	return req.Input.MetricQuery()
}

// errBadRequest is the class of requests that are not well-formed at all.
var errBadRequest = errors.New("bad request")

func badRequestf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// httpStatus is the HTTP status of each error code on the endpoints beside GraphQL; a code not
// listed is 500.
var httpStatus = map[string]int{
	CodeBadRequest:        http.StatusBadRequest,
	CodeInvalidQuery:      http.StatusBadRequest,
	CodeNotFound:          http.StatusNotFound,
	CodeForbidden:         http.StatusForbidden,
	CodeUnauthenticated:   http.StatusUnauthorized,
	CodeTooManyRows:       http.StatusUnprocessableEntity,
	CodeResourceExhausted: http.StatusUnprocessableEntity,
	CodeTimeout:           http.StatusGatewayTimeout,
	CodeSourceUnavailable: http.StatusServiceUnavailable,
	CodeStoreUnavailable:  http.StatusServiceUnavailable,
	CodeCancelled:         http.StatusServiceUnavailable,
}

// writeHTTPError answers a failed request to an endpoint beside GraphQL (POST /arrow, GET
// /audit.jsonl, GET /lineage/…) with GraphQL's error body: the code of the error's class and its
// message, with the HTTP status of httpStatus, or INTERNAL with the details logged.
func writeHTTPError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, errBadRequest) {
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
		return
	}
	code, message, ok := errorClass(err)
	if !ok {
		log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, CodeInternal, internalMessage)
		return
	}
	if code == CodeSourceUnavailable || code == CodeStoreUnavailable {
		log.WarnContext(r.Context(), strings.ToLower(strings.ReplaceAll(code, "_", " ")), "path", r.URL.Path, "err", err)
	}
	if message == "" {
		message = err.Error()
	}
	status, ok := httpStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeError(w, status, code, message)
}

// arrowBase64 returns the result as an Arrow IPC stream, base64-encoded, for GraphQL's
// MetricResult.arrow.
func arrowBase64(ctx context.Context, res *semantic.Result, mem memory.Allocator) (string, error) {
	var b strings.Builder
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	if err := res.WriteArrowIPC(enc, mem, ctx.Err); err != nil {
		return "", fmt.Errorf("encode the result as Arrow: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}
