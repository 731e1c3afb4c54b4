package authz

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePolicyFileRoundTrip(t *testing.T) {
	text := `# comment
p, analyst, demo, *, read, allow
p, finance, demo, tag:finance, *, allow, 10

g, alice, analyst, demo
row_filter, east_sales, demo, orders, "region IN ('east', 'north') AND channel <> ""store"""
mask, support, demo, customers.name, hash
attribute, demo, regions, strings
api_key, demo, k1, nightly export, analyst viewer, ` + strings.Repeat("ab", 32) + `, 2026-11-01T10:00:00Z, alice@demo, 
`
	st, err := ParsePolicyFile("p.csv", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range st.Rules {
		lines = append(lines, r.String())
	}
	want := []string{
		"p, analyst, demo, *, read, allow",
		"p, finance, demo, tag:finance, *, allow, 10",
		"g, alice, analyst, demo",
		`row_filter, east_sales, demo, orders, "region IN ('east', 'north') AND channel <> ""store"""`,
		"mask, support, demo, customers.name, hash",
		"attribute, demo, regions, strings",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got := st.Rules[3].Value; got != `region IN ('east', 'north') AND channel <> "store"` {
		t.Errorf("filter read as %q", got)
	}
	if st.Rules[1].Line != 3 || st.Rules[2].Line != 5 {
		t.Errorf("lines %d and %d, want 3 and 5", st.Rules[1].Line, st.Rules[2].Line)
	}
	if len(st.Keys) != 1 {
		t.Fatalf("keys: %+v", st.Keys)
	}
	k := st.Keys[0]
	if k.Name != "nightly export" || !slices.Equal(k.Roles, []string{"analyst", "viewer"}) || k.Revoked() ||
		!k.CreatedAt.Equal(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)) || k.Subject() != "api_key:k1" {
		t.Errorf("key read as %+v", k)
	}
	// Every line the formatter writes reads back as the same rule.
	var again strings.Builder
	for _, r := range st.Rules {
		again.WriteString(r.String() + "\n")
	}
	again.WriteString(FormatAPIKeyLine(k) + "\n")
	st2, err := ParsePolicyFile("again.csv", []byte(again.String()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.Rules {
		if st.Rules[i].Key() != st2.Rules[i].Key() {
			t.Errorf("rule %d changed on a round trip: %s vs %s", i, st.Rules[i], st2.Rules[i])
		}
	}
	if FormatAPIKeyLine(st2.Keys[0]) != FormatAPIKeyLine(k) {
		t.Errorf("key changed on a round trip")
	}
}

func TestParsePolicyFileErrors(t *testing.T) {
	text := `p, analyst, demo, *, read, allow
p, analyst, demo, *, read
q, a, b, c
p, analyst, demo, metric, read, allow
p, analyst, demo, colour:red, read, allow
p, analyst, demo, *, write, allow
p, analyst, demo, *, read, maybe
p, analyst, demo, *, read, allow, high
g, alice, alice, demo
p, analyst, demo, *, read, allow
row_filter, east_sales, demo, orders, ""
mask, support, demo, name, hash
mask, support, demo, customers.name, blur
attribute, demo, sub, string
attribute, demo, region, text
p, ana*, demo, *, read, allow
p, analyst, de mo , *, read, allow
`
	_, err := ParsePolicyFile("policy.csv", []byte(text))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"policy.csv:2: a p rule has 6 or 7 fields (p, SUBJECT, TENANT, OBJECT, ACTION, EFFECT[, PRIORITY]), not 5",
		`policy.csv:3: unknown rule kind "q"; a line starts with p, g, row_filter, mask or attribute`,
		`policy.csv:4: object "metric" is not KIND:NAME; use metric:, dimension:, model:, domain:, tag:, connection: or policy:, or * for everything`,
		`policy.csv:5: object "colour:red" has unknown kind "colour"; use metric, dimension, model, domain, tag, connection or policy`,
		`policy.csv:6: unknown action "write"; the actions are read, query, propose, review, publish, admin`,
		`policy.csv:7: effect "maybe" is neither allow nor deny`,
		`policy.csv:8: priority "high" is not a whole number`,
		`policy.csv:9: alice cannot have itself as a role`,
		`policy.csv:10: the rule repeats line 1`,
		`policy.csv:11: the row filter on orders is empty; write a condition such as region = {user.region}`,
		`policy.csv:12: mask names "name"; name the dimension as model.dimension, such as customers.name`,
		`policy.csv:13: mask "blur" is neither hash nor partial`,
		`policy.csv:14: attribute sub is built in; declare only other claims`,
		`policy.csv:15: attribute type "text" is not one of string, number, strings, numbers`,
		`policy.csv:16: the subject "ana*" has a wildcard; only objects and actions are patterns`,
	}
	got := strings.Split(err.Error(), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParsePolicyFileBadQuote(t *testing.T) {
	_, err := ParsePolicyFile("policy.csv", []byte("p, a, demo, *, read, allow\nrow_filter, a, demo, orders, \"region = 'x'\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "policy.csv:2: ") {
		t.Errorf("an unterminated quote is reported at its line, got %v", err)
	}
}
