package authz

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// This file holds what both stores do to a change before and after they keep it, so that a
// FileStore and a PostgresStore given the same changes hold, return and audit the same things.

// defaultAuditLimit is how many audit records a query returns when it names no limit.
const defaultAuditLimit = 100

// prepareChange checks a change and brings it to the one form the stores keep, so that what a
// store returns after a round trip through its storage equals what it was given: a rule as its
// policy-file line reads back, times in UTC to the microsecond (what PostgreSQL keeps), a revoke
// reduced to the key's tenant, ID and time (the store has the rest), and the audit record's
// tenant, op and time filled in. now stands in for the times the change leaves zero. Errors
// wrap ErrInvalidPolicy.
func prepareChange(c Change, now time.Time) (Change, error) {
	var err error
	switch c.Op {
	case AddRule, RemoveRule:
		c.Rule, err = canonicalRule(c.Rule)
		c.Key = APIKey{}
	case CreateAPIKey:
		c.Key, err = canonicalKey(c.Key, now)
		c.Rule = Rule{}
	case RevokeAPIKey:
		err = checkName("tenant", c.Key.Tenant, false)
		if err == nil {
			err = checkName("api key ID", c.Key.ID, false)
		}
		c.Key = APIKey{Tenant: c.Key.Tenant, ID: c.Key.ID, RevokedAt: storeTime(orNow(c.Key.RevokedAt, now))}
		c.Rule = Rule{}
	default:
		err = fmt.Errorf("unknown change %q; a change is one of %s, %s, %s, %s", c.Op, AddRule, RemoveRule, CreateAPIKey, RevokeAPIKey)
	}
	if err != nil {
		return c, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, c.Op, err)
	}
	tenant := c.Rule.Tenant
	if c.Op == CreateAPIKey || c.Op == RevokeAPIKey {
		tenant = c.Key.Tenant
	}
	a := &c.Audit
	switch {
	case a.Tenant != "" && a.Tenant != tenant:
		err = fmt.Errorf("the audit record is of tenant %s but the change is to tenant %s", a.Tenant, tenant)
	case a.Op != "" && a.Op != c.Op:
		err = fmt.Errorf("the audit record says %s but the change is %s", a.Op, c.Op)
	case a.Actor == "":
		err = fmt.Errorf("the audit record names no actor; say who makes the change, as subject@tenant")
	}
	if err != nil {
		return c, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, c.Op, err)
	}
	a.Seq, a.Tenant, a.Op, a.At = 0, tenant, c.Op, storeTime(orNow(a.At, now))
	return c, nil
}

// canonicalRule returns the rule as a policy file would read it back, checked.
func canonicalRule(r Rule) (Rule, error) {
	fields := r.Fields()
	for _, f := range fields {
		// A line break or tab survives the policy file (quoted); other control characters do not.
		if strings.ContainsFunc(f, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\t' }) {
			return r, fmt.Errorf("the rule's field %q has a control character", f)
		}
	}
	out, err := ParseRule(fields)
	if err != nil {
		return r, fmt.Errorf("rule %s: %w", r, err)
	}
	return out, nil
}

// canonicalKey returns a new key as a policy file would read it back, checked.
func canonicalKey(k APIKey, now time.Time) (APIKey, error) {
	if k.Revoked() {
		return k, fmt.Errorf("the new api key %s is revoked already", k.ID)
	}
	if err := checkName("api key ID", k.ID, false); err != nil {
		return k, err
	}
	for _, r := range k.Roles {
		if err := checkName("role", r, false); err != nil || strings.ContainsFunc(r, unicode.IsSpace) {
			return k, fmt.Errorf("the api key's role %q is not a single word without wildcards", r)
		}
	}
	if strings.ContainsFunc(k.Name+k.CreatedBy, unicode.IsControl) {
		return k, fmt.Errorf("the api key's name or creator has a control character")
	}
	k.CreatedAt = storeTime(orNow(k.CreatedAt, now))
	return parseAPIKeyLine(apiKeyFields(k))
}

// storeTime is t as the stores keep it: in UTC, to the microsecond.
func storeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// applyToState makes a prepared change to st, failing as Store.Apply does when the rule or key
// is there already or is not. A revoke's Key becomes the whole revoked key.
func applyToState(st *State, c *Change) error {
	ruleAt := func() int { return slices.IndexFunc(st.Rules, func(r Rule) bool { return r.Key() == c.Rule.Key() }) }
	switch c.Op {
	case AddRule:
		if ruleAt() >= 0 {
			return fmt.Errorf("%w: %s", ErrRuleExists, c.Rule)
		}
		st.Rules = append(st.Rules, c.Rule)
	case RemoveRule:
		i := ruleAt()
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrRuleNotFound, c.Rule)
		}
		st.Rules = slices.Delete(st.Rules, i, i+1)
	case CreateAPIKey:
		if slices.ContainsFunc(st.Keys, func(k APIKey) bool { return k.ID == c.Key.ID }) {
			return fmt.Errorf("%w: %s", ErrKeyExists, c.Key.ID)
		}
		st.Keys = append(st.Keys, c.Key)
	case RevokeAPIKey:
		i := slices.IndexFunc(st.Keys, func(k APIKey) bool { return k.Tenant == c.Key.Tenant && k.ID == c.Key.ID && !k.Revoked() })
		if i < 0 {
			return keyNotFound(c.Key)
		}
		st.Keys[i].RevokedAt = c.Key.RevokedAt
		c.Key = st.Keys[i]
	}
	return nil
}

func keyNotFound(k APIKey) error {
	return fmt.Errorf("%w: no valid api key %s in tenant %s", ErrKeyNotFound, k.ID, k.Tenant)
}

// auditOf is the audit record of a change that has been applied: its Detail, when the caller
// gave none, says what the change was applied to. The store sets Seq.
func auditOf(c Change) AuditRecord {
	rec := c.Audit
	if rec.Detail == "" {
		rec.Detail = changeDetail(c)
	}
	return rec
}

// auditLimit checks an audit query and returns how many records it may return.
func auditLimit(q AuditQuery) (int, error) {
	switch {
	case q.Tenant == "":
		return 0, fmt.Errorf("the audit query names no tenant; records are read one tenant at a time")
	case q.Limit < 0 || q.AfterSeq < 0:
		return 0, fmt.Errorf("the audit query's limit and after-sequence cannot be negative")
	case q.Limit == 0:
		return defaultAuditLimit, nil
	}
	return q.Limit, nil
}

// cloneState returns a copy of st that shares nothing a caller could change.
func cloneState(st *State) *State {
	out := &State{Rules: slices.Clone(st.Rules), Keys: slices.Clone(st.Keys)}
	for i := range out.Keys {
		out.Keys[i].Roles = slices.Clone(out.Keys[i].Roles)
		out.Keys[i].Hash = slices.Clone(out.Keys[i].Hash)
	}
	return out
}
