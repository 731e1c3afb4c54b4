package authz

import (
	"context"
	"errors"
	"time"
)

// The classes of store errors, checked with errors.Is.
var (
	// ErrRuleExists: the rule to add is already in the policy.
	ErrRuleExists = errors.New("rule exists")
	// ErrRuleNotFound: the rule to remove is not in the policy.
	ErrRuleNotFound = errors.New("rule not found")
	// ErrKeyNotFound: no API key of the tenant has that ID.
	ErrKeyNotFound = errors.New("api key not found")
	// ErrKeyExists: an API key with the new key's ID is stored already.
	ErrKeyExists = errors.New("api key exists")
	// ErrStoreUnavailable: the store could not be read or written; nothing was changed.
	ErrStoreUnavailable = errors.New("policy store unavailable")
)

// APIKey is a service's credential, as stored: never the secret, only its SHA-256.
type APIKey struct {
	// ID is the public part of the key, which the key's text starts with.
	ID     string
	Tenant string
	// Name says what the key is for, such as "nightly-export".
	Name  string
	Roles []string
	// Hash is the SHA-256 of the key's secret part.
	Hash      []byte
	CreatedAt time.Time
	CreatedBy string
	// RevokedAt is when the key was revoked; zero while it is valid.
	RevokedAt time.Time
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Subject is the subject a key's requests run as: "api_key:ID".
func (k *APIKey) Subject() string { return "api_key:" + k.ID }

// State is everything a store holds for authorization: every tenant's rules and API keys.
type State struct {
	Rules []Rule
	Keys  []APIKey
}

// ChangeOp is one kind of change to a store.
type ChangeOp string

// The changes a store applies.
const (
	AddRule      ChangeOp = "add_rule"
	RemoveRule   ChangeOp = "remove_rule"
	CreateAPIKey ChangeOp = "create_api_key"
	RevokeAPIKey ChangeOp = "revoke_api_key"
)

// Change is one change to a store, applied with its audit record or not at all.
type Change struct {
	Op ChangeOp
	// Rule is the rule added or removed.
	Rule Rule
	// Key is the key created (whole) or revoked (its Tenant and ID; RevokedAt is the time).
	Key APIKey
	// Audit records who made the change; the store sets Seq and keeps it forever.
	Audit AuditRecord
}

// AuditRecord is an append-only record of one change to a tenant's access policy or keys.
type AuditRecord struct {
	// Seq orders the records of a store; the store assigns it, from 1.
	Seq    int64
	At     time.Time
	Tenant string
	// Actor is the principal who made the change, as subject@tenant.
	Actor string
	// Op is the change made, and Detail what it was applied to: the rule's line, or the key's
	// ID and name.
	Op     ChangeOp
	Detail string
}

// AuditQuery selects audit records of one tenant, oldest first.
type AuditQuery struct {
	Tenant string
	// AfterSeq skips records up to and including this sequence number.
	AfterSeq int64
	// Limit caps the records returned; 0 means 100.
	Limit int
}

// Store keeps the access policy, API keys and the audit log of changes to them: a policy file in
// embedded mode, PostgreSQL when replicas share it. Implementations are safe for concurrent use,
// also by several processes sharing one store.
type Store interface {
	// Load returns every tenant's rules and API keys.
	Load(ctx context.Context) (*State, error)
	// Apply makes one change and appends its audit record, atomically: after a crash at any point
	// the store holds both or neither. Adding a rule that exists fails with ErrRuleExists,
	// removing one that does not with ErrRuleNotFound, revoking an unknown or already revoked key
	// with ErrKeyNotFound, creating a key whose ID is taken with ErrKeyExists. It returns the
	// audit record as stored.
	Apply(ctx context.Context, c Change) (AuditRecord, error)
	// Audit returns audit records of one tenant.
	Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
	// Watch calls changed, from its own goroutine, whenever the store may have been changed by
	// someone else (another replica, or a person editing the policy file), until ctx ends.
	Watch(ctx context.Context, changed func()) error
	// Close releases the store.
	Close() error
}
