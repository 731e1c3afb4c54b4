package authz

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAuthorizerTellsOfChanges checks that Changed hears of each change once the store holds it,
// with its audit record, and of nothing that was refused.
func TestAuthorizerTellsOfChanges(t *testing.T) {
	st, err := ParsePolicyFile("policy.csv", []byte("p, admin, acme, *, *, allow\n"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var told []AuditRecord
	a, err := NewAuthorizer(context.Background(), NewMemoryStore(st), AuthorizerOptions{
		Now: func() time.Time { return at }, Changed: func(r AuditRecord) { told = append(told, r) }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ada := &Principal{Subject: "ada", Tenant: "acme", Roles: []string{"admin"}}
	grant := Rule{Kind: Grant, Subject: "analyst", Object: "*", Action: "read", Effect: Allow, Priority: DefaultPriority}
	rec, err := a.AddRule(context.Background(), ada, grant)
	if err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0] != rec || told[0].Actor != "ada@acme" || told[0].Tenant != "acme" || told[0].Op != AddRule || !told[0].At.Equal(at) {
		t.Fatalf("told %+v, want %+v", told, rec)
	}
	if _, err := a.AddRule(context.Background(), ada, grant); !errors.Is(err, ErrRuleExists) {
		t.Fatalf("adding the rule again: %v", err)
	}
	if _, err := a.AddRule(context.Background(), &Principal{Subject: "bob", Tenant: "acme"}, grant); err == nil {
		t.Fatal("a non-admin changed the policy")
	}
	if len(told) != 1 {
		t.Errorf("refused changes were told: %+v", told[1:])
	}
}
