package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic/store"
)

var testSecret = []byte("webhook tests sign with this")

// clock is a test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// receiver is a webhook endpoint that checks signatures and answers with the statuses it is
// told to, in turn (200 once they run out).
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	got      []call
	delay    time.Duration
}

// call is one request a receiver got.
type call struct {
	delivery, attempt string
	event             string
	body              string
	signed            bool
	contentType       string
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		delay := r.delay
		r.got = append(r.got, call{delivery: req.Header.Get(HeaderDelivery), attempt: req.Header.Get(HeaderAttempt), event: req.Header.Get(HeaderEvent),
			body: string(body), signed: Verify(testSecret, body, req.Header.Get(HeaderSignature)), contentType: req.Header.Get("Content-Type")})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(status)
		fmt.Fprintf(w, "status %d", status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.got...)
}

// enqueue puts n deliveries to url in the store's outbox, due at at, and returns their IDs.
func enqueue(t *testing.T, st store.Store, url string, at time.Time, n int) []int64 {
	t.Helper()
	var ids []int64
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			e, err := tx.AppendEvent(store.Event{At: at, Tenant: "demo", Actor: "ann@demo", Type: "change_request.proposed", Object: fmt.Sprintf("change_request:%d", i+1)})
			if err != nil {
				return err
			}
			d, err := tx.Enqueue(store.Delivery{Event: e.Seq, URL: url, NextAttempt: at,
				Payload: fmt.Sprintf(`{"seq":%d,"type":"change_request.proposed","object":"change_request:%d"}`, e.Seq, i+1)})
			if err != nil {
				return err
			}
			ids = append(ids, d.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func memoryStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// exact is a jitter that adds nothing, so that tests know every wait.
func exact(d time.Duration) time.Duration { return d }

// pending returns the deliveries not yet done, whenever they are due.
func pending(t *testing.T, st store.Store) []store.Delivery {
	t.Helper()
	ds, err := st.DueDeliveries(context.Background(), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// t0 is when the tests' deliveries are due: in the past, for the dispatchers on the real clock.
var t0 = time.Date(2025, 11, 30, 9, 0, 0, 0, time.UTC)

// TestDeliverSigned delivers one call and checks what the receiver got: the payload, signed
// verifiably, with its event, delivery ID and attempt; and that it is not sent again.
func TestDeliverSigned(t *testing.T) {
	st := memoryStore(t)
	rcv := newReceiver(t)
	ids := enqueue(t, st, rcv.srv.URL+"/hook", t0, 1)
	c := &clock{now: t0}
	d := New(st, Options{Secret: testSecret, Now: c.Now, Logger: quiet()})
	if n, err := d.DeliverDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("DeliverDue: %d, %v", n, err)
	}
	got := rcv.calls()
	if len(got) != 1 {
		t.Fatalf("%d calls, want 1", len(got))
	}
	g := got[0]
	if !g.signed || g.event != "change_request.proposed" || g.delivery != strconv.FormatInt(ids[0], 10) || g.attempt != "1" ||
		g.contentType != "application/json" || !strings.Contains(g.body, `"object":"change_request:1"`) {
		t.Errorf("call %+v", g)
	}
	// The signature is HMAC-SHA256 of the body, in hex: what a receiver in any language computes.
	if want := "sha256=" + hmacHex(testSecret, g.body); Sign(testSecret, []byte(g.body)) != want {
		t.Errorf("signature %s, want %s", Sign(testSecret, []byte(g.body)), want)
	}
	if Verify([]byte("another secret"), []byte(g.body), Sign(testSecret, []byte(g.body))) {
		t.Error("a signature verifies with another secret")
	}
	if p := pending(t, st); len(p) != 0 {
		t.Errorf("still pending after success: %+v", p)
	}
	c.set(t0.Add(48 * time.Hour))
	if n, _ := d.DeliverDue(context.Background()); n != 0 || len(rcv.calls()) != 1 {
		t.Errorf("a delivered call was read %d times again and sent %d times in all", n, len(rcv.calls()))
	}
}

// TestRetryBackoff fails a delivery twice (an error status, then no answer at all) and checks
// that each failure is recorded with its error and the next attempt 1s and then 2s later, that
// nothing is sent before it is due, and that the third attempt delivers it.
func TestRetryBackoff(t *testing.T) {
	st := memoryStore(t)
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
	enqueue(t, st, rcv.srv.URL, t0, 1)
	c := &clock{now: t0}
	d := New(st, Options{Secret: testSecret, Now: c.Now, Jitter: exact, Logger: quiet()})
	ctx := context.Background()

	d.DeliverDue(ctx)
	p := pending(t, st)
	if len(p) != 1 || p[0].Attempts != 1 || !p[0].NextAttempt.Equal(t0.Add(time.Second)) || p[0].LastError != "HTTP 503: status 503" {
		t.Fatalf("after one failure: %+v", p)
	}
	c.set(t0.Add(999 * time.Millisecond))
	if n, _ := d.DeliverDue(ctx); n != 0 {
		t.Fatalf("a delivery was retried before it was due")
	}
	c.set(t0.Add(time.Second))
	d.DeliverDue(ctx)
	p = pending(t, st)
	if len(p) != 1 || p[0].Attempts != 2 || !p[0].NextAttempt.Equal(t0.Add(3*time.Second)) || !strings.HasPrefix(p[0].LastError, "HTTP 504") {
		t.Fatalf("after two failures: %+v", p)
	}
	c.set(t0.Add(3 * time.Second))
	d.DeliverDue(ctx)
	if p := pending(t, st); len(p) != 0 {
		t.Fatalf("after the third attempt: %+v", p)
	}
	got := rcv.calls()
	if len(got) != 3 || got[0].attempt != "1" || got[2].attempt != "3" || got[0].delivery != got[2].delivery || got[0].body != got[2].body {
		t.Errorf("calls %+v", got)
	}
}

// TestBackoffSchedule checks the waits: doubling from 1s, capped at 1h, jittered by at most a
// fifth, and giving up once a day's worth of waits has passed.
func TestBackoffSchedule(t *testing.T) {
	d := New(nil, Options{Jitter: exact})
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600}
	for i, w := range want {
		got, ok := d.Backoff(i + 1)
		if !ok || got != w*time.Second {
			t.Errorf("after failure %d: %s, %v; want %s", i+1, got, ok, w*time.Second)
		}
	}
	var spent time.Duration
	attempts := 0
	for {
		attempts++
		w, ok := d.Backoff(attempts)
		if !ok {
			break
		}
		spent += w
	}
	// 4095s in 12 doubling waits, then 23 hours: the 36th attempt, past a day, is the last.
	if spent < 24*time.Hour || spent > 25*time.Hour || attempts != 36 {
		t.Errorf("gave up at failure %d after %s of waits, want 36 after a day", attempts, spent)
	}
	jittered := New(nil, Options{})
	for i := 1; i < 20; i++ {
		w, _ := jittered.Backoff(i)
		base, _ := d.Backoff(i)
		if w < base || w > base+base/5 {
			t.Errorf("after failure %d: %s, want %s to %s", i, w, base, base+base/5)
		}
	}
}

// TestGiveUp fails every attempt until the delivery gives up: it keeps its last error and is
// never due again.
func TestGiveUp(t *testing.T) {
	st := memoryStore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	enqueue(t, st, closed, t0, 1)
	c := &clock{now: t0}
	d := New(st, Options{Now: c.Now, Jitter: exact, Logger: quiet()})
	ctx := context.Background()
	for i := 1; i < 100; i++ {
		d.DeliverDue(ctx)
		p := pending(t, st)
		if len(p) != 1 || p[0].Attempts != i {
			t.Fatalf("after attempt %d: %+v", i, p)
		}
		if strings.HasPrefix(p[0].LastError, "gave up") {
			if i != 36 || !strings.Contains(p[0].LastError, "connection refused") || p[0].NextAttempt.Year() != 9999 {
				t.Errorf("gave up after attempt %d: %+v", i, p[0])
			}
			c.set(t0.Add(1000 * time.Hour))
			if n, _ := d.DeliverDue(ctx); n != 0 {
				t.Error("a delivery that gave up is due again")
			}
			return
		}
		if !strings.Contains(p[0].LastError, "connection refused") {
			t.Fatalf("attempt %d failed with %q", i, p[0].LastError)
		}
		c.set(p[0].NextAttempt)
	}
	t.Fatal("the delivery never gave up")
}

// TestTimeout checks that a receiver slower than the timeout fails the attempt, which is retried.
func TestTimeout(t *testing.T) {
	st := memoryStore(t)
	rcv := newReceiver(t)
	rcv.delay = 500 * time.Millisecond
	enqueue(t, st, rcv.srv.URL, t0, 1)
	d := New(st, Options{Now: func() time.Time { return t0 }, Timeout: 50 * time.Millisecond, Jitter: exact, Logger: quiet()})
	start := time.Now()
	d.DeliverDue(context.Background())
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Errorf("the attempt took %s", took)
	}
	if p := pending(t, st); len(p) != 1 || p[0].LastError != "no answer within 50ms" {
		t.Errorf("after a timeout: %+v", p)
	}
}

// TestConcurrencyBound sends 20 slow calls with a concurrency of 4 and checks that no more than 4
// were ever in flight, and all were delivered.
func TestConcurrencyBound(t *testing.T) {
	st := memoryStore(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	defer srv.Close()
	enqueue(t, st, srv.URL, t0, 20)
	d := New(st, Options{Now: func() time.Time { return t0 }, Concurrency: 4, Logger: quiet()})
	if n, err := d.DeliverDue(context.Background()); n != 20 || err != nil {
		t.Fatal(n, err)
	}
	if most != 4 || len(pending(t, st)) != 0 {
		t.Errorf("%d in flight at most, %d pending", most, len(pending(t, st)))
	}
}

// runReplicas runs two dispatchers over one store, each with its own lease on the same lock,
// until every delivery is done, and checks that each arrived exactly once.
func runReplicas(t *testing.T, st store.Store, leases [2]Lease) {
	rcv := newReceiver(t)
	ids := enqueue(t, st, rcv.srv.URL, t0, 100)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, l := range leases {
		d := New(st, Options{Now: time.Now, Batch: 10, PollInterval: 5 * time.Millisecond, Lease: l, Logger: quiet()})
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Run(ctx)
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(pending(t, st)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	seen := map[string]int{}
	for _, c := range rcv.calls() {
		seen[c.delivery]++
	}
	for _, id := range ids {
		if n := seen[strconv.FormatInt(id, 10)]; n != 1 {
			t.Errorf("delivery %d arrived %d times", id, n)
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("%d deliveries arrived, want %d", len(seen), len(ids))
	}
}

// TestReplicasShareFileLease runs two dispatchers over one SQLite store, as two processes sharing
// its file would: one holds the lease and sends, the other waits.
func TestReplicasShareFileLease(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "store.db.webhooks.lock")
	runReplicas(t, memoryStore(t), [2]Lease{NewFileLease(lock), NewFileLease(lock)})
}

// TestReplicasSharePostgresLease runs two dispatchers over one PostgreSQL store, as two replicas
// would, each with its own pool.
func TestReplicasSharePostgresLease(t *testing.T) {
	pool := pgtest.Connect(t)
	other := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	st, err := store.OpenPostgres(context.Background(), pool, store.PostgresOptions{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, b := NewPostgresLease(pool, schema), NewPostgresLease(other, schema)
	runReplicas(t, st, [2]Lease{a, b})

	// The lease passes on when its holder lets go. A dispatcher stopped while it checked its
	// lease closed the connection, and the database ends its session (and frees the lock) a
	// moment later.
	ctx := context.Background()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		held, err := a.Hold(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease was not free after both dispatchers stopped")
		}
	}
	if held, _ := b.Hold(ctx); held {
		t.Fatal("two dispatchers hold the lease")
	}
	a.Release()
	if held, err := b.Hold(ctx); err != nil || !held {
		t.Fatalf("a released lease was not taken: %v %v", held, err)
	}
	b.Release()
}

// TestRunStops checks that Run returns soon after its context ends, with a call in flight, and
// that the call cut short is sent again by the next dispatcher.
func TestRunStops(t *testing.T) {
	st := memoryStore(t)
	rcv := newReceiver(t)
	rcv.delay = 2 * time.Second
	enqueue(t, st, rcv.srv.URL, t0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	d := New(st, Options{PollInterval: 10 * time.Millisecond, Logger: quiet()})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	for deadline := time.Now().Add(10 * time.Second); len(rcv.calls()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Run sent nothing")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not stop")
	}
	if p := pending(t, st); len(p) != 1 || p[0].Attempts != 0 {
		t.Errorf("the call cut short was recorded: %+v", p)
	}
	rcv.mu.Lock()
	rcv.delay = 0
	rcv.mu.Unlock()
	New(st, Options{Logger: quiet()}).DeliverDue(context.Background())
	if p := pending(t, st); len(p) != 0 || len(rcv.calls()) != 2 {
		t.Errorf("after the restart: %d pending, %d calls", len(p), len(rcv.calls()))
	}
}

func hmacHex(secret []byte, body string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}
