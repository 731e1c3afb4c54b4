package resolvers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestRoutes(t *testing.T) {
	var logs bytes.Buffer
	srv := server(t, fixture.demo, HandlerOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	if status, body := get(t, srv.URL+"/healthz"); status != http.StatusOK || body != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", status, body)
	}
	if status, body := get(t, srv.URL+"/"); status != http.StatusOK || !strings.Contains(body, "graphiql") || !strings.Contains(body, "/graphql") {
		t.Errorf("GET / = %d, want GraphiQL pointing at /graphql:\n%.300s", status, body)
	}
	status, body := get(t, srv.URL+"/graphql?query="+url.QueryEscape(`{ domains { name } }`))
	if status != http.StatusOK || body != `{"data":{"domains":[{"name":"finance"},{"name":"operations"},{"name":"sales"}]}}` {
		t.Errorf("GET /graphql = %d %s", status, body)
	}
	if status, _ := get(t, srv.URL+"/nowhere"); status != http.StatusNotFound {
		t.Errorf("GET /nowhere = %d, want 404", status)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/graphql", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /graphql = %d, want 405", res.StatusCode)
	}

	// One log line per request, with method, path, status and duration.
	var lines []map[string]any
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if len(lines) != 5 {
		t.Fatalf("%d log lines for 5 requests:\n%v", len(lines), lines)
	}
	last := lines[4]
	if last["msg"] != "http request" || last["method"] != "DELETE" || last["path"] != "/graphql" ||
		last["status"] != float64(http.StatusMethodNotAllowed) || last["duration"] == nil {
		t.Errorf("log line = %v", last)
	}
	if lines[2]["status"] != float64(http.StatusOK) || lines[2]["path"] != "/graphql" {
		t.Errorf("log line = %v", lines[2])
	}
}

// introspectionQuery is what GraphiQL sends to learn the schema; it must pass the depth and
// complexity limits.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

func TestIntrospection(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	var data struct {
		Schema struct {
			Types []struct {
				Name        string
				Description *string
				Fields      []struct {
					Name        string
					Description *string
				}
			}
		} `json:"__schema"`
	}
	mustData(t, post(t, srv, introspectionQuery, nil), &data)
	// Every type and field of ours is documented.
	for _, typ := range data.Schema.Types {
		if strings.HasPrefix(typ.Name, "__") || typ.Name == "String" || typ.Name == "Int" || typ.Name == "Boolean" ||
			typ.Name == "ID" || typ.Name == "Float" {
			continue
		}
		if typ.Description == nil || *typ.Description == "" {
			t.Errorf("type %s has no description", typ.Name)
		}
		for _, f := range typ.Fields {
			if f.Description == nil || *f.Description == "" {
				t.Errorf("field %s.%s has no description", typ.Name, f.Name)
			}
		}
	}

	closed := server(t, fixture.demo, HandlerOptions{DisableIntrospection: true})
	for _, q := range []string{
		`{ __schema { types { name } } }`,
		`{ domains { name } ... on Query { __type(name: "Metric") { name } } }`,
		`query { ...schema } fragment schema on Query { __schema { queryType { name } } }`,
	} {
		wantError(t, post(t, closed, q, nil), "GRAPHQL_VALIDATION_FAILED", "introspection is disabled")
	}
	var data2 struct {
		Domains []struct {
			Typename string `json:"__typename"`
		}
	}
	mustData(t, post(t, closed, `{ domains { __typename } }`, nil), &data2)
	if len(data2.Domains) != 3 || data2.Domains[0].Typename != "Domain" {
		t.Errorf("__typename with introspection disabled = %+v", data2)
	}
}
