package semantic

import (
	"context"
	"encoding/json"
	"maps"
	"sync"

	"github.com/koujing/koujing/semantic/store"
)

// The consumers of a metric are who the audit log shows querying it: every query a governed
// service answers is recorded with its principal, its client when the surface knew one (a
// dashboard's X-Koujing-Client, a GraphQL operation's name, a SQL session's application_name,
// an MCP client's name; see WithClient) and its metrics. A consumer is a principal alone, keyed
// subject@tenant as before clients were recorded, or a client as one principal ran it, keyed
// "client (subject@tenant)": the same dashboard run by two people is two consumers, each with
// the person to ask about it.
//
// consumerIndex reads each tenant's query events once, keeping per metric who queried it, how
// often and when, and afterwards reads only the events appended since.
type consumerIndex struct {
	mu      sync.Mutex
	tenants map[string]*tenantConsumers
}

// consumerSeen is one consumer of a metric: who, through which client, and how often and when.
type consumerSeen struct {
	actor, client string
	usage         ConsumerUsage
}

// consumerKey is the key of the consumer node of a principal (actor) querying through a client.
func consumerKey(actor, client string) string {
	if client == "" {
		return actor
	}
	return client + " (" + actor + ")"
}

type tenantConsumers struct {
	mu sync.Mutex
	// after is the sequence number of the last event read.
	after    int64
	byMetric map[string]map[string]consumerSeen
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
		t = &tenantConsumers{byMetric: map[string]map[string]consumerSeen{}}
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
				Client  string   `json:"client"`
			}
			if json.Unmarshal([]byte(e.Detail), &detail) != nil {
				continue
			}
			for _, name := range detail.Metrics {
				name, _ = splitVersion(name)
				byKey := t.byMetric[name]
				if byKey == nil {
					byKey = map[string]consumerSeen{}
					t.byMetric[name] = byKey
				}
				key := consumerKey(e.Actor, detail.Client)
				c := byKey[key]
				c.actor, c.client = e.Actor, detail.Client
				u := &c.usage
				if u.Queries == 0 || e.At.Before(u.First) {
					u.First = e.At
				}
				if e.At.After(u.Last) {
					u.Last = e.At
				}
				u.Queries++
				byKey[key] = c
			}
		}
		if len(events) < consumerPage {
			return nil
		}
	}
}

// of returns who in a tenant queried a metric, by consumer key: a copy the caller may keep.
func (c *consumerIndex) of(tenant, metric string) map[string]consumerSeen {
	t := c.tenant(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.byMetric[metric])
}

// consumersFor returns the lookup of a view's consumers: the audit log is read (for what was
// appended since) on the first lookup; a failure to read it is kept in *failed.
func (l *Lineage) consumersFor(ctx context.Context, gov *Governance, tenant string, failed *error) func(string) map[string]consumerSeen {
	var once sync.Once
	return func(metric string) map[string]consumerSeen {
		once.Do(func() { *failed = l.consumers.refresh(ctx, gov.Store(), tenant) })
		return l.consumers.of(tenant, metric)
	}
}
