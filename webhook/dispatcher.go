// Package webhook delivers the workflow's events to the URLs that asked for them: the calls that
// package semantic queues in the metadata store's outbox, in the same transaction as the change
// they announce, are POSTed here, signed, and retried with backoff until they succeed or a day's
// worth of retries has failed. Package semantic does no network I/O of its own; this is where
// its outbox meets the network.
//
// Delivery is at least once. One dispatcher at a time sends from a store — the holder of a Lease,
// taken by each replica's dispatcher before every round — so replicas do not send the same call
// twice as a rule; but a call whose receiver answered and whose success could not be recorded
// (the process died in between, the lease moved on while it was in flight) is sent again. Every
// call carries X-Koujing-Delivery, the same on every attempt of one delivery: receivers drop a
// delivery ID they have already handled.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// The headers of a webhook call.
const (
	// HeaderEvent names the event, such as "change_request.approved".
	HeaderEvent = "X-Koujing-Event"
	// HeaderDelivery is the delivery's ID, the same on every attempt: receivers dedupe by it.
	HeaderDelivery = "X-Koujing-Delivery"
	// HeaderAttempt counts the attempts of the delivery from 1.
	HeaderAttempt = "X-Koujing-Attempt"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the body, keyed with the secret.
	HeaderSignature = "X-Koujing-Signature"
)

// Sign returns the value of HeaderSignature for a body: "sha256=" and the hex HMAC-SHA256 of the
// body keyed with secret. A receiver computes the same over the bytes it received and compares
// the two with hmac.Equal.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether a signature header value is body's, signed with secret, comparing in
// constant time.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(signature), []byte(Sign(secret, body)))
}

// gaveUp is when a delivery that gave up is due again: never, as DueDeliveries sees it.
var gaveUp = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Options configure a Dispatcher. The zero value of each field picks its default.
type Options struct {
	// Secret keys the HMAC signature of every call. Without one, calls go unsigned (and New's
	// caller should say so).
	Secret []byte
	// Client sends the calls; default an http.Client that does not follow redirects (a
	// redirect is reported as the attempt's failure, so that a signed call is not replayed
	// elsewhere).
	Client *http.Client
	// Timeout bounds each attempt, from connecting to reading the answer; default 10s.
	Timeout time.Duration
	// Concurrency is how many calls are in flight at once; default 8.
	Concurrency int
	// Batch is how many due deliveries a round reads; default 64.
	Batch int
	// PollInterval is how often the outbox is read for due deliveries; default 1s. A round that
	// finds a full batch is followed at once by another.
	PollInterval time.Duration
	// MinBackoff is the wait after a first failure, doubled after each further one up to
	// MaxBackoff; defaults 1s and 1h.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// GiveUpAfter is how long the retry schedule of a delivery runs before it gives up, keeping
	// its last error; default 24h. The schedule counts the waits between attempts, not the
	// time the server was down: a delivery queued before an outage still gets its day.
	GiveUpAfter time.Duration
	// Jitter spreads a wait, so that calls that failed together are not retried together;
	// default: up to a fifth more, at random. Tests make it exact.
	Jitter func(time.Duration) time.Duration
	// Lease is held by one dispatcher of a store at a time; default none, for a store only
	// this process sends from (SQLite in memory).
	Lease Lease
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives failures; default slog.Default().
	Logger *slog.Logger
}

// Lease is held by at most one dispatcher of a store at a time, across processes.
type Lease interface {
	// Hold reports whether the caller holds the lease, taking it when it is free. Run calls
	// it before every round; a lease that was lost (its connection dropped) reports false until
	// it is taken again.
	Hold(ctx context.Context) (bool, error)
	// Release gives the lease up. Run calls it when it stops.
	Release()
}

// Dispatcher delivers the calls of a store's outbox. Run it in a goroutine of its own for as
// long as the server runs; DeliverDue runs one round. It is safe for concurrent use.
type Dispatcher struct {
	store store.Store
	opts  Options
	log   *slog.Logger
	// round serialises rounds, so that a delivery is never in flight twice from one dispatcher.
	round sync.Mutex
}

// New returns a dispatcher of the store's outbox.
func New(st store.Store, opts Options) *Dispatcher {
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Batch <= 0 {
		opts.Batch = 64
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.GiveUpAfter <= 0 {
		opts.GiveUpAfter = 24 * time.Hour
	}
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration { return d + rand.N(d/5+1) }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Dispatcher{store: st, opts: opts, log: opts.Logger.With("component", "webhook")}
}

// Run delivers due calls, round after round, while it holds the lease, until ctx ends; then it
// gives the lease up and returns, once the calls in flight have stopped. Calls cut short by the
// end are not recorded, and are sent again by whoever runs next.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.opts.Lease != nil {
		defer d.opts.Lease.Release()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		full := false
		if d.holds(ctx) {
			n, err := d.DeliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Warn("reading the webhook outbox failed; retrying", "err", err)
			}
			full = n == d.opts.Batch
		}
		if full {
			timer.Reset(0)
		} else {
			timer.Reset(d.opts.PollInterval)
		}
	}
}

func (d *Dispatcher) holds(ctx context.Context) bool {
	if d.opts.Lease == nil {
		return true
	}
	held, err := d.opts.Lease.Hold(ctx)
	if err != nil && ctx.Err() == nil {
		d.log.Warn("the webhook lease could not be checked; not sending until it can", "err", err)
	}
	return held && err == nil
}

// DeliverDue sends the deliveries due now, at most a batch, Concurrency at a time, records each
// outcome, and returns how many it read.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	d.round.Lock()
	defer d.round.Unlock()
	due, err := d.store.DueDeliveries(ctx, d.opts.Now(), d.opts.Batch)
	if err != nil {
		return 0, err
	}
	slots := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	for _, dl := range due {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return len(due), ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			d.deliver(ctx, dl)
		}()
	}
	wg.Wait()
	return len(due), nil
}

// deliver makes one attempt at a delivery and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, dl store.Delivery) {
	err := d.send(ctx, dl)
	if ctx.Err() != nil {
		// Stopping: the attempt is not held against the delivery.
		return
	}
	now := d.opts.Now()
	var next time.Time
	msg := ""
	if err != nil {
		msg = err.Error()
		attempts := dl.Attempts + 1
		if wait, ok := d.Backoff(attempts); ok {
			next = now.Add(wait)
		} else {
			next = gaveUp
			msg = fmt.Sprintf("gave up after %d attempts: %s", attempts, msg)
			d.log.Error("a webhook delivery gave up", "delivery", dl.ID, "url", redact(dl.URL), "attempts", attempts, "err", err)
		}
	}
	// The outcome is recorded even when the server stops meanwhile: a call that went through
	// must not be sent again for want of a record.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.store.RecordAttempt(rec, dl.ID, now, msg, next); err != nil {
		d.log.Error("recording a webhook attempt failed; the delivery will be sent again", "delivery", dl.ID, "err", err)
	}
}

// Backoff returns how long to wait after a delivery's attempts-th failed attempt, jittered, and
// false once the schedule has run for GiveUpAfter: the delivery gives up.
func (d *Dispatcher) Backoff(attempts int) (time.Duration, bool) {
	var spent time.Duration
	for i := 1; i < attempts; i++ {
		spent += d.step(i)
	}
	if spent >= d.opts.GiveUpAfter {
		return 0, false
	}
	return d.opts.Jitter(d.step(attempts)), true
}

// step is the wait after the n-th failure, before jitter: MinBackoff doubled n-1 times, capped.
func (d *Dispatcher) step(n int) time.Duration {
	w := d.opts.MinBackoff
	for i := 1; i < n && w < d.opts.MaxBackoff; i++ {
		w *= 2
	}
	return min(w, d.opts.MaxBackoff)
}

// send POSTs a delivery's payload; an answer other than 2xx is an error.
func (d *Dispatcher) send(ctx context.Context, dl store.Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	body := []byte(dl.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the webhook URL %q: %w", redact(dl.URL), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "koujing-webhook/1")
	req.Header.Set(HeaderEvent, eventType(body))
	req.Header.Set(HeaderDelivery, strconv.FormatInt(dl.ID, 10))
	req.Header.Set(HeaderAttempt, strconv.Itoa(dl.Attempts+1))
	if len(d.opts.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(d.opts.Secret, body))
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		var uerr interface{ Timeout() bool }
		if errors.As(err, &uerr) && uerr.Timeout() {
			return fmt.Errorf("no answer within %s", d.opts.Timeout)
		}
		return errors.New(strings.ReplaceAll(err.Error(), dl.URL, redact(dl.URL)))
	}
	defer resp.Body.Close()
	// The start of the answer says why it failed; the rest is not read.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		text := strings.TrimSpace(strings.ToValidUTF8(string(head), "?"))
		if text != "" {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, text)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// eventType reads the event's type from its payload.
func eventType(payload []byte) string {
	var e struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(payload, &e)
	return e.Type
}

// redact keeps a URL's scheme and host: its path and query often hold a token.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(an unreadable URL)"
	}
	host, _, _ := strings.Cut(rest, "/")
	if _, h, ok := strings.Cut(host, "@"); ok {
		host = h
	}
	return scheme + "://" + host + "/…"
}
