package resolvers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/koujing/koujing/semantic"
)

// TestClientsInLineage: a GraphQL operation's name and the X-Koujing-Client header, and the
// header of POST /arrow, name the client each query is audited as; lineage shows each client
// as a consumer of the metric, owned by the principal who ran it.
func TestClientsInLineage(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann := analystToken(t)
	send := func(path, client string, body any) {
		t.Helper()
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ann)
		if client != "" {
			req.Header.Set(semantic.ClientHeader, client)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
			t.Fatalf("%s as %q: %d %s", path, client, res.StatusCode, out)
		}
	}
	aov := map[string]any{"metrics": []string{"aov"}}
	send("/graphql", "metabase/dashboard/12", map[string]any{"query": `query SalesWeekly($in: MetricQueryInput!) { query(input: $in) { rowCount } }`,
		"variables": map[string]any{"in": aov}})
	send("/graphql", "", map[string]any{"query": `query Notebook { query(input: {metrics: ["aov"]}) { rowCount } }`})
	send("/graphql", "", map[string]any{"query": `{ query(input: {metrics: ["aov"]}) { rowCount } }`})
	send("/arrow", "jupyter:weekly-report", map[string]any{"input": aov})
	f.gov.Close() // flushes the audit of queries

	var data struct {
		Lineage struct {
			Nodes []struct {
				Kind   string
				Key    string
				Name   string
				Owners []string
			}
		}
	}
	f.ask(t, adminToken(t), `{ lineage(node: "aov", direction: DOWNSTREAM, depth: 1) { nodes { kind key name owners } } }`, nil, &data)
	var consumers []string
	for _, n := range data.Lineage.Nodes {
		if n.Kind == "CONSUMER" {
			b, _ := json.Marshal(n)
			consumers = append(consumers, string(b))
		}
	}
	want := []string{
		`{"Kind":"CONSUMER","Key":"ann@demo","Name":"ann@demo","Owners":[]}`,
		`{"Kind":"CONSUMER","Key":"jupyter:weekly-report (ann@demo)","Name":"jupyter:weekly-report","Owners":["ann@demo"]}`,
		`{"Kind":"CONSUMER","Key":"metabase/dashboard/12 · query SalesWeekly (ann@demo)","Name":"metabase/dashboard/12 · query SalesWeekly","Owners":["ann@demo"]}`,
		`{"Kind":"CONSUMER","Key":"query Notebook (ann@demo)","Name":"query Notebook","Owners":["ann@demo"]}`,
	}
	slices.Sort(consumers)
	if !slices.Equal(consumers, want) {
		t.Errorf("consumers of aov:\n%s\nwant\n%s", consumers, want)
	}
}
