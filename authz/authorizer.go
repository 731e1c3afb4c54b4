package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrForbidden is wrapped by errors about an action the principal may not take.
var ErrForbidden = errors.New("forbidden")

// ErrInvalidPolicy is wrapped by errors about a rule or a policy that cannot apply: a malformed
// rule, or one the definitions cannot bind (an unknown model, a filter that does not parse).
var ErrInvalidPolicy = errors.New("invalid policy")

// AuthorizerOptions configure an Authorizer.
type AuthorizerOptions struct {
	// Validate checks a whole policy against what it governs (models, dimensions, the filters'
	// syntax), before the policy is used: at start, before a change is stored, and on reload. Its
	// error is reported with ErrInvalidPolicy and nothing changes. Nil accepts every policy.
	Validate func(*Policy) error
	// Logger receives reloads and the problems of policies refused on reload; default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for audit records; default time.Now.
	Now func() time.Time
	// Changed, when set, is told of every change this authorizer stored (a rule added or
	// removed, an API key created or revoked), with its audit record, once the store holds it
	// — the governance audit log records policy changes through it. It is called on the
	// changing request's goroutine and must not block. Changes made by other replicas are
	// told to theirs.
	Changed func(AuditRecord)
}

// Authorizer holds the current policy of a store and changes it. Decisions are taken on
// snapshots (Policy), so a request sees one policy from start to end; a change or a reload
// swaps the snapshot for the requests that start after it. It is safe for concurrent use.
type Authorizer struct {
	store  Store
	opts   AuthorizerOptions
	log    *slog.Logger
	policy atomic.Pointer[Policy]
	// mu serialises changes and reloads, so that a change is validated against the policy it
	// is applied to.
	mu sync.Mutex
}

// NewAuthorizer loads the store's policy and validates it. The authorizer owns the store from
// then on, and Close closes it.
func NewAuthorizer(ctx context.Context, store Store, opts AuthorizerOptions) (*Authorizer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Authorizer{store: store, opts: opts, log: opts.Logger.With("component", "authz")}
	if err := a.Reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Close closes the store.
func (a *Authorizer) Close() error { return a.store.Close() }

// Policy returns the current policy.
func (a *Authorizer) Policy() *Policy { return a.policy.Load() }

// Grants returns the current policy's decisions for a principal.
func (a *Authorizer) Grants(who *Principal) *Grants { return a.Policy().Grants(who) }

// LookupKey returns the API key of that ID from the current policy; authentication uses it.
func (a *Authorizer) LookupKey(id string) (*APIKey, bool) { return a.Policy().APIKey(id) }

// Reload reads the store again and, if the policy there is valid, makes it current.
func (a *Authorizer) Reload(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := a.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	p := NewPolicy(st)
	if err := a.validate(p); err != nil {
		return err
	}
	a.policy.Store(p)
	return nil
}

func (a *Authorizer) validate(p *Policy) error {
	if a.opts.Validate == nil {
		return nil
	}
	if err := a.opts.Validate(p); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	return nil
}

// Watch reloads the policy whenever the store says it changed, until ctx ends. A policy that
// fails to load or validate is logged and the current one stays.
func (a *Authorizer) Watch(ctx context.Context) error {
	return a.store.Watch(ctx, func() {
		if err := a.Reload(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("policy changed in the store but was not applied; the previous policy stays", "err", err)
			return
		}
		a.log.Info("policy reloaded")
	})
}

// CheckAdmin returns nil when the principal may change its tenant's policy, and an error wrapping
// ErrForbidden otherwise.
func (a *Authorizer) CheckAdmin(who *Principal) error {
	if !a.Grants(who).Allowed(Object{Kind: PolicyObject, Name: who.Tenant}, Admin) {
		return fmt.Errorf("%w: %s may not administer the access policy of tenant %s; the admin action on policy:%s is needed",
			ErrForbidden, who.Subject, who.Tenant, who.Tenant)
	}
	return nil
}

// AddRule adds a rule to the actor's tenant's policy. The actor must be an admin of the tenant,
// and the policy with the rule must validate; the change is audited.
func (a *Authorizer) AddRule(ctx context.Context, actor *Principal, r Rule) (AuditRecord, error) {
	return a.changeRule(ctx, actor, AddRule, r)
}

// RemoveRule removes a rule of the actor's tenant's policy, as AddRule adds one.
func (a *Authorizer) RemoveRule(ctx context.Context, actor *Principal, r Rule) (AuditRecord, error) {
	return a.changeRule(ctx, actor, RemoveRule, r)
}

func (a *Authorizer) changeRule(ctx context.Context, actor *Principal, op ChangeOp, r Rule) (AuditRecord, error) {
	r.Tenant = actor.Tenant
	r.Line = 0
	if err := r.Check(); err != nil {
		return AuditRecord{}, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	return a.apply(ctx, actor, Change{Op: op, Rule: r}, func(st *State) (*State, error) {
		rules := slices.Clone(st.Rules)
		i := slices.IndexFunc(rules, func(x Rule) bool { return x.Key() == r.Key() })
		switch {
		case op == AddRule && i >= 0:
			return nil, fmt.Errorf("%w: %s", ErrRuleExists, r)
		case op == AddRule:
			rules = append(rules, r)
		case i < 0:
			return nil, fmt.Errorf("%w: %s", ErrRuleNotFound, r)
		default:
			rules = slices.Delete(rules, i, i+1)
		}
		return &State{Rules: rules, Keys: st.Keys}, nil
	})
}

// CreateAPIKey stores a new API key of the actor's tenant, made with NewAPIKey.
func (a *Authorizer) CreateAPIKey(ctx context.Context, actor *Principal, k APIKey) (AuditRecord, error) {
	if k.Tenant != actor.Tenant {
		return AuditRecord{}, fmt.Errorf("%w: an API key is created in the tenant of its creator", ErrForbidden)
	}
	return a.apply(ctx, actor, Change{Op: CreateAPIKey, Key: k}, nil)
}

// RevokeAPIKey revokes an API key of the actor's tenant; its requests fail from then on.
func (a *Authorizer) RevokeAPIKey(ctx context.Context, actor *Principal, id string) (AuditRecord, error) {
	k, ok := a.Policy().APIKey(id)
	if !ok || k.Tenant != actor.Tenant || k.Revoked() {
		// Another tenant's key is reported as unknown: a tenant never learns of another's.
		return AuditRecord{}, fmt.Errorf("%w: no valid API key %q in tenant %s", ErrKeyNotFound, id, actor.Tenant)
	}
	revoked := *k
	revoked.RevokedAt = a.opts.Now().UTC()
	return a.apply(ctx, actor, Change{Op: RevokeAPIKey, Key: revoked}, nil)
}

// apply checks the actor, validates the policy the change would make (when edit says what it
// would be), stores the change with its audit record, and makes the store's new policy current.
func (a *Authorizer) apply(ctx context.Context, actor *Principal, c Change, edit func(*State) (*State, error)) (AuditRecord, error) {
	if err := actor.Validate(); err != nil {
		return AuditRecord{}, fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	if err := a.CheckAdmin(actor); err != nil {
		return AuditRecord{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if edit != nil {
		next, err := edit(a.Policy().State())
		if err != nil {
			return AuditRecord{}, err
		}
		if err := a.validate(NewPolicy(next)); err != nil {
			return AuditRecord{}, err
		}
	}
	c.Audit = AuditRecord{At: a.opts.Now().UTC(), Tenant: actor.Tenant, Actor: actor.String(), Op: c.Op, Detail: changeDetail(c)}
	rec, err := a.store.Apply(ctx, c)
	if err != nil {
		return AuditRecord{}, err
	}
	if a.opts.Changed != nil {
		a.opts.Changed(rec)
	}
	// The store is the truth: other replicas may have changed it too.
	st, err := a.store.Load(ctx)
	if err != nil {
		return rec, fmt.Errorf("the change is stored, but reloading the policy failed: %w", err)
	}
	p := NewPolicy(st)
	if err := a.validate(p); err != nil {
		a.log.Error("the stored policy does not validate after a change; the previous policy stays", "err", err)
		return rec, nil
	}
	a.policy.Store(p)
	a.log.Info("policy changed", "tenant", actor.Tenant, "actor", actor.String(), "op", c.Op, "detail", rec.Detail)
	return rec, nil
}

func changeDetail(c Change) string {
	switch c.Op {
	case AddRule, RemoveRule:
		return c.Rule.String()
	}
	return fmt.Sprintf("%s (%s)", c.Key.ID, c.Key.Name)
}

// Audit returns the audit records of the actor's tenant; only its admins may read them.
func (a *Authorizer) Audit(ctx context.Context, actor *Principal, afterSeq int64, limit int) ([]AuditRecord, error) {
	if err := a.CheckAdmin(actor); err != nil {
		return nil, err
	}
	return a.store.Audit(ctx, AuditQuery{Tenant: actor.Tenant, AfterSeq: afterSeq, Limit: limit})
}
