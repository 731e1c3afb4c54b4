package semantic

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic/store"
)

// The audit of queries and logins is written in batches, so that a query never waits for it.
const (
	auditBatch    = 256
	auditInterval = 200 * time.Millisecond
	// auditBacklog bounds the events waiting; past it new ones are dropped (and counted in the
	// log) rather than holding queries back.
	auditBacklog = 16_384
)

// auditWriter appends events to the store in batches, from a goroutine of its own.
type auditWriter struct {
	store   store.Store
	log     *slog.Logger
	events  chan store.Event
	done    chan struct{}
	once    sync.Once
	dropped int
}

func newAuditWriter(st store.Store, log *slog.Logger) *auditWriter {
	w := &auditWriter{store: st, log: log, events: make(chan store.Event, auditBacklog), done: make(chan struct{})}
	go w.run()
	return w
}

// record queues an event; it never blocks.
func (w *auditWriter) record(e store.Event) {
	select {
	case w.events <- e:
	default:
		w.dropped++
	}
}

func (w *auditWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(auditInterval)
	defer tick.Stop()
	var batch []store.Event
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := w.store.AppendEvents(ctx, batch); err != nil {
			w.log.Error("the audit of queries could not be written; these events are lost", "events", len(batch), "err", err)
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-w.events:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e)
			if len(batch) >= auditBatch {
				flush()
			}
		case <-tick.C:
			flush()
			if w.dropped > 0 {
				w.log.Warn("audit events were dropped: the store could not keep up", "dropped", w.dropped)
				w.dropped = 0
			}
		}
	}
}

// close writes what is queued and stops.
func (w *auditWriter) close() {
	w.once.Do(func() { close(w.events) })
	<-w.done
}

// RecordQuery audits a query a principal ran through a client (see WithClient; "" when none
// is known): the question, the metric versions that answered, the rows, how long it took, and
// the error if it failed.
func (g *Governance) RecordQuery(who *authz.Principal, client string, q MetricQuery, versions []MetricVersion, rows int64, took time.Duration, err error) {
	detail := map[string]any{"metrics": q.Metrics, "dimensions": q.Dimensions, "rows": rows, "duration_ms": float64(took.Microseconds()) / 1000}
	if client = CleanClient(client); client != "" {
		detail["client"] = client
	}
	if len(q.Filters) > 0 {
		detail["filters"] = q.Filters
	}
	if q.TimeDimension != nil {
		detail["time_dimension"] = q.TimeDimension
	}
	if len(versions) > 0 {
		detail["versions"] = versions
	}
	if err != nil {
		detail["error"] = err.Error()
	}
	g.audit.record(store.Event{At: g.opts.Now().UTC(), Tenant: who.Tenant, Actor: who.String(), Type: "query",
		Object: "query", Detail: jsonText(detail)})
}

// RecordLoginFailure audits credentials that were refused: who they claimed to be when that is
// known, where the request came from, and why.
func (g *Governance) RecordLoginFailure(tenant, actor, remote, reason string) {
	g.audit.record(store.Event{At: g.opts.Now().UTC(), Tenant: tenant, Actor: actor, Type: "login.failed",
		Object: "login", Detail: jsonObject("remote", remote, "reason", reason)})
}

// RecordPolicyChange audits a change to a tenant's access policy, as the authorizer stored it.
func (g *Governance) RecordPolicyChange(rec authz.AuditRecord) {
	g.audit.record(store.Event{At: rec.At, Tenant: rec.Tenant, Actor: rec.Actor, Type: "policy." + string(rec.Op),
		Object: "policy:" + rec.Tenant, Detail: jsonObject("rule", rec.Detail, "policy_seq", rec.Seq)})
}
