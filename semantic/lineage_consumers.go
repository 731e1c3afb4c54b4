package semantic

import (
	"context"
	"encoding/json"
	"maps"
	"sync"

	"github.com/koujing/koujing/semantic/store"
)

// The consumers of a metric are the users and API clients the audit log shows querying it: every
// query a governed service answers is recorded with its principal and metrics. Saved queries and
// dashboards are not objects of Koujing yet, so they appear as the principal that runs them.
//
// consumerIndex reads each tenant's query events once, keeping per metric who queried it, how
// often and when, and afterwards reads only the events appended since.
type consumerIndex struct {
	mu      sync.Mutex
	tenants map[string]*tenantConsumers
}

type tenantConsumers struct {
	mu sync.Mutex
	// after is the sequence number of the last event read.
	after    int64
	byMetric map[string]map[string]ConsumerUsage
}

// consumerPage is how many events one read of the audit log takes.
const consumerPage = 10_000

func (c *consumerIndex) tenant(name string) *tenantConsumers {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants == nil {
		c.tenants = map[string]*tenantConsumers{}
	}
	t, ok := c.tenants[name]
	if !ok {
		t = &tenantConsumers{byMetric: map[string]map[string]ConsumerUsage{}}
		c.tenants[name] = t
	}
	return t
}

// refresh reads a tenant's query events appended since the last read.
func (c *consumerIndex) refresh(ctx context.Context, st store.Store, tenant string) error {
	t := c.tenant(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		events, err := st.Events(ctx, store.EventQuery{Tenant: tenant, Types: []string{"query"}, AfterSeq: t.after, Limit: consumerPage})
		if err != nil {
			return err
		}
		for _, e := range events {
			t.after = e.Seq
			if e.Type != "query" {
				continue
			}
			var detail struct {
				Metrics []string `json:"metrics"`
			}
			if json.Unmarshal([]byte(e.Detail), &detail) != nil {
				continue
			}
			for _, name := range detail.Metrics {
				name, _ = splitVersion(name)
				byActor := t.byMetric[name]
				if byActor == nil {
					byActor = map[string]ConsumerUsage{}
					t.byMetric[name] = byActor
				}
				u := byActor[e.Actor]
				if u.Queries == 0 || e.At.Before(u.First) {
					u.First = e.At
				}
				if e.At.After(u.Last) {
					u.Last = e.At
				}
				u.Queries++
				byActor[e.Actor] = u
			}
		}
		if len(events) < consumerPage {
			return nil
		}
	}
}

// of returns who in a tenant queried a metric, by actor: a copy the caller may keep.
func (c *consumerIndex) of(tenant, metric string) map[string]ConsumerUsage {
	t := c.tenant(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.byMetric[metric])
}

// consumersFor returns the lookup of a view's consumers: the audit log is read (for what was
// appended since) on the first lookup; a failure to read it is kept in *failed.
func (l *Lineage) consumersFor(ctx context.Context, gov *Governance, tenant string, failed *error) func(string) map[string]ConsumerUsage {
	var once sync.Once
	return func(metric string) map[string]ConsumerUsage {
		once.Do(func() { *failed = l.consumers.refresh(ctx, gov.Store(), tenant) })
		return l.consumers.of(tenant, metric)
	}
}
