// Package store keeps what governs Koujing's definitions: every version of every definition, the
// change requests that propose them with their reviews and comments, feedback from the people who
// use the numbers, the audit log, the outbox of webhook deliveries, and the history of the
// quality rules' runs with the schedule and lease that their scheduler shares across replicas.
//
// The store is deliberately plain: it records and reads, each change in one transaction, and
// knows no rule of the workflow (who may approve, when a request publishes). The rules live in
// package semantic, which runs them inside Update, so that a change the rules allow lands
// completely or not at all — also when the process is killed halfway. Two implementations share
// one conformance suite: an embedded one in a single SQLite file (or in memory) that needs no
// server, and PostgreSQL for replicas, which learn of each other's changes through Watch.
package store

import (
	"context"
	"errors"
	"time"
)

// The classes of store errors, checked with errors.Is.
var (
	// ErrNotFound: no row has that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the row changed since it was read (its revision is not the one expected), or a
	// key that must be unique is taken.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store could not be reached or written; nothing was changed.
	ErrUnavailable = errors.New("metadata store unavailable")
)

// Kind is the kind of a versioned definition.
type Kind string

// The kinds of definitions. A dimension or measure is part of its data model: changing one makes
// a new version of the model.
const (
	KindDomain     Kind = "domain"
	KindModel      Kind = "model"
	KindMetric     Kind = "metric"
	KindConnection Kind = "connection"
)

// Status is where a version is in its life.
type Status string

// The statuses of a version. A name has at most one version that serves everyone (Published or
// Deprecated) and at most one Gray version besides; Retired refuses queries.
const (
	// Draft: proposed in a change request that is not yet submitted for review.
	Draft Status = "draft"
	// InReview: proposed in a change request under review.
	InReview Status = "in_review"
	// Rejected and Withdrawn: proposed in a change request that was rejected or withdrawn, or
	// replaced by an amendment of its request.
	Rejected  Status = "rejected"
	Withdrawn Status = "withdrawn"
	// Gray: published to an audience (roles, tenants) first; everyone else still gets the
	// Published version.
	Gray Status = "gray"
	// Published: the version everyone's queries use.
	Published Status = "published"
	// Superseded: a version that was published and has been replaced by a newer one.
	Superseded Status = "superseded"
	// Deprecated: still served, with a warning naming the replacement and the sunset date.
	Deprecated Status = "deprecated"
	// Retired: no longer served; queries are refused with the replacement's name.
	Retired Status = "retired"
)

// Serving reports whether versions of this status are part of the catalog: Published, Deprecated
// and Gray ones answer queries, Retired ones refuse them by name.
func (s Status) Serving() bool {
	return s == Published || s == Deprecated || s == Gray || s == Retired
}

// Audience is who a Gray version is published to: principals having any of the roles, or in any
// of the tenants.
type Audience struct {
	Roles   []string `json:"roles,omitempty"`
	Tenants []string `json:"tenants,omitempty"`
}

// Deprecation says what replaces a deprecated or retired definition, and from when.
type Deprecation struct {
	Replacement string    `json:"replacement,omitempty"`
	Sunset      time.Time `json:"sunset,omitzero"`
	Note        string    `json:"note,omitempty"`
}

// Version is one immutable version of a definition: its number, its content and who made it.
// Only Status, PublishedAt, Audience and Deprecation change after it is made, as it moves through
// its life.
type Version struct {
	// ID is the store's key of the version, assigned when it is inserted.
	ID   int64
	Kind Kind
	Name string
	// Number counts the versions of one kind and name from 1; the store assigns it.
	Number int
	Status Status
	// Definition is the definition in the YAML users write (one mapping, as an item of the list
	// of its kind); Hash is the SHA-256, in hex, of its canonical form.
	Definition string
	Hash       string
	// Author is who made the version, as subject@tenant; Note is its change note.
	Author    string
	Note      string
	CreatedAt time.Time
	// ChangeRequest is the request that proposed the version; 0 for versions imported from files
	// when the store was new.
	ChangeRequest int64
	// PublishedAt is when the version first served queries; zero until then.
	PublishedAt time.Time
	Audience    *Audience
	Deprecation *Deprecation
}

// VersionQuery selects versions. Zero fields select everything; results are ordered by kind, name
// and number.
type VersionQuery struct {
	Kind     Kind
	Name     string
	Statuses []Status
	// ChangeRequest selects the versions a change request proposed.
	ChangeRequest int64
}

// CRStatus is where a change request is in the workflow.
type CRStatus string

// The statuses of a change request.
const (
	CRDraft            CRStatus = "draft"
	CROpen             CRStatus = "open"
	CRChangesRequested CRStatus = "changes_requested"
	CRPublished        CRStatus = "published"
	CRRejected         CRStatus = "rejected"
	CRWithdrawn        CRStatus = "withdrawn"
)

// Closed reports whether a request in this status takes no more actions.
func (s CRStatus) Closed() bool { return s == CRPublished || s == CRRejected || s == CRWithdrawn }

// Action is what a change request does to one definition.
type Action string

// The actions of change request items.
const (
	Create    Action = "create"
	Update    Action = "update"
	Deprecate Action = "deprecate"
	Retire    Action = "retire"
)

// Item is one definition a change request changes.
type Item struct {
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	Action Action `json:"action"`
	// Version is the number of the version the request proposes.
	Version int `json:"version"`
	// BaseVersion is the number of the version that served everyone when the item was proposed
	// (0 for a new definition): publishing fails if another has been published since.
	BaseVersion int `json:"base_version"`
}

// ChangeRequest proposes new definitions, changes or deprecations, together: they are reviewed
// and published as one.
type ChangeRequest struct {
	// ID is assigned by the store when the request is inserted.
	ID        int64
	Title     string
	Rationale string
	// Author is who proposed it, as subject@tenant; Tenant is the author's tenant.
	Author string
	Tenant string
	Status CRStatus
	// Revision counts the request's changes from 1; an update names the revision it read, and
	// fails with ErrConflict when another change came first.
	Revision int
	Items    []Item
	// Domains are the business domains of the items, whose owners review the request.
	Domains []string
	// ApprovalsRequired is how many approvals, from reviewers other than the author, publish it.
	ApprovalsRequired int
	// Reviewers are the people named to review it; Subscribers are told of its progress.
	Reviewers   []string
	Subscribers []string
	// Audience, when set, publishes the request's versions Gray to it.
	Audience  *Audience
	CreatedAt time.Time
	UpdatedAt time.Time
	// DueAt is when the step the request waits on is due.
	DueAt time.Time
}

// CRQuery selects change requests, newest first.
type CRQuery struct {
	Statuses []CRStatus
	// Domain selects the requests touching a domain; Author those of one author; Reviewer those
	// naming a reviewer.
	Domain   string
	Author   string
	Reviewer string
	// Kind and Name select the requests with an item on that definition.
	Kind Kind
	Name string
	// DueBefore selects requests whose due time is before it (overdue ones, given the time now).
	DueBefore time.Time
	// BeforeID pages: only requests with a smaller ID. Limit 0 means 100.
	BeforeID int64
	Limit    int
}

// Decision is a reviewer's verdict.
type Decision string

// The decisions of a review.
const (
	Approve        Decision = "approve"
	Reject         Decision = "reject"
	RequestChanges Decision = "request_changes"
)

// Review is one reviewer's decision on a change request.
type Review struct {
	ID            int64
	ChangeRequest int64
	// Revision is the request's revision the review was given on.
	Revision int
	Reviewer string
	Decision Decision
	// Domains are what the reviewer decided for: the request's domains it may review (or, for a
	// request touching no domain, the definitions, as "kind:name"). Approvals count per domain.
	Domains []string
	Note    string
	At      time.Time
}

// Comment is a remark on a change request, in reply to another (Parent) or not (Parent 0).
type Comment struct {
	ID            int64
	ChangeRequest int64
	Parent        int64
	Author        string
	Body          string
	At            time.Time
}

// Feedback is a report from someone who uses a metric ("this number looks wrong"), with the query
// they saw it in; it lands in the queue of the metric's owner.
type Feedback struct {
	ID     int64
	Metric string
	// Version is the metric's version that answered the query.
	Version int
	Owner   string
	Author  string
	Tenant  string
	Note    string
	// Query is the query the author saw the number in, as JSON.
	Query    string
	Resolved bool
	At       time.Time
}

// FeedbackQuery selects feedback, newest first. Limit 0 means 100.
type FeedbackQuery struct {
	Metric     string
	Owner      string
	Unresolved bool
	BeforeID   int64
	Limit      int
}

// Event is an append-only record of something that happened: a definition changed, a change
// request moved, a policy changed, a login failed, a query ran.
type Event struct {
	// Seq orders events; the store assigns it, increasing.
	Seq    int64
	At     time.Time
	Tenant string
	// Actor is who did it, as subject@tenant.
	Actor string
	// Type names what happened, such as "change_request.approved", "definition.published",
	// "query", "login.failed".
	Type string
	// Object is what it happened to, such as "metric:gmv_paid" or "change_request:12".
	Object string
	// Detail holds the rest as a JSON object: versions used, rows, duration, a reason.
	Detail string
}

// EventQuery selects events of one tenant, oldest first.
type EventQuery struct {
	Tenant string
	// Types keeps events whose type is one of these or starts with one of these followed by a
	// dot ("change_request" keeps every change_request.* event); empty keeps all.
	Types  []string
	Actor  string
	Object string
	Since  time.Time
	Until  time.Time
	// AfterSeq pages; Limit 0 means 100.
	AfterSeq int64
	Limit    int
}

// Delivery is a webhook call waiting in the outbox, or done.
type Delivery struct {
	ID int64
	// Event is the event the call announces.
	Event    int64
	URL      string
	Payload  string
	Attempts int
	// NextAttempt is when to try again; DeliveredAt is set once it succeeded.
	NextAttempt time.Time
	DeliveredAt time.Time
	LastError   string
}

// QualityStatus is the outcome of a run of a quality rule.
type QualityStatus string

// The outcomes of a quality rule's run.
const (
	// QualityPass: the measured value is within the warning threshold.
	QualityPass QualityStatus = "pass"
	// QualityWarn: the value is past the warning threshold, within the red line.
	QualityWarn QualityStatus = "warn"
	// QualityFail: the value is past the red line.
	QualityFail QualityStatus = "fail"
	// QualityError: the check could not be run (its source was unavailable, it timed out).
	QualityError QualityStatus = "error"
)

// The ways a quality rule's run is started.
const (
	// TriggerManual: someone asked for it.
	TriggerManual = "manual"
	// TriggerSchedule: the scheduler ran it, as the rule's schedule says.
	TriggerSchedule = "schedule"
)

// QualityRun is one evaluation of a quality rule: what it measured, against which thresholds,
// when, how long it took and the query it ran. Runs are immutable.
type QualityRun struct {
	// ID is assigned by the store, increasing: a later run has a larger ID.
	ID int64
	// Rule is the rule's name; Kind its kind ("completeness", "reconciliation" …).
	Rule string
	Kind string
	// Subject is the definition that declares the rule, as "metric:gmv_paid" or "model:orders",
	// and Version the number of that definition's version the rule was read from (0 for
	// definitions read from files).
	Subject string
	Version int
	// Objects are the definitions the check read, as "metric:NAME" and "model:NAME": whoever may
	// see the run must be able to see all of them.
	Objects []string
	Status  QualityStatus
	// Value is what the check measured (a share, a count or seconds, as the rule's kind says);
	// nil when it measured nothing. Warn and Fail are the rule's thresholds when it ran; nil for
	// one the rule did not set.
	Value *float64
	Warn  *float64
	Fail  *float64
	// Detail holds the rest as a JSON object: the rows counted, the worst group, an error.
	Detail string
	// Query is the plan and the statements the check ran.
	Query string
	// Trigger is TriggerManual or TriggerSchedule; Actor who ran it, as subject@tenant.
	Trigger string
	Actor   string
	// Tenant is the tenant of the actor; empty for scheduled runs.
	Tenant    string
	StartedAt time.Time
	// Duration is how long the check took, to the microsecond.
	Duration time.Duration
}

// QualityRunQuery selects runs, newest first. Zero fields select everything; Limit 0 means 100.
type QualityRunQuery struct {
	// Rules keeps the runs of these rules; Subjects the runs of rules declared on these
	// definitions ("metric:gmv_paid"). A nil list keeps all; an empty, non-nil one keeps none.
	Rules    []string
	Subjects []string
	Statuses []QualityStatus
	Trigger  string
	// Since is inclusive, Until exclusive, on StartedAt.
	Since time.Time
	Until time.Time
	// BeforeID pages: only runs with a smaller ID.
	BeforeID int64
	Limit    int
}

// Tx is one transaction of a Store: everything done through it lands together when the function
// given to Update returns nil, and not at all otherwise. A Tx is used by one goroutine and only
// during that call.
type Tx interface {
	// Versions returns the versions the query selects.
	Versions(q VersionQuery) ([]Version, error)
	// InsertVersion stores a new version, assigning its ID and Number (the next of its kind and
	// name), and returns it as stored.
	InsertVersion(v Version) (Version, error)
	// SetVersionStatus moves a version on: its status, when it was published, its audience and
	// deprecation (nil clears them).
	SetVersionStatus(id int64, s Status, publishedAt time.Time, a *Audience, d *Deprecation) error

	// ChangeRequest returns the request with that ID, or ErrNotFound.
	ChangeRequest(id int64) (ChangeRequest, error)
	// InsertChangeRequest stores a new request with Revision 1, assigning its ID.
	InsertChangeRequest(cr ChangeRequest) (ChangeRequest, error)
	// UpdateChangeRequest stores cr, whose Revision is the one it was read at, as the next
	// revision; ErrConflict when the stored revision is another.
	UpdateChangeRequest(cr ChangeRequest) (ChangeRequest, error)
	// Reviews and Comments return a request's, oldest first.
	Reviews(cr int64) ([]Review, error)
	InsertReview(r Review) (Review, error)
	Comments(cr int64) ([]Comment, error)
	InsertComment(c Comment) (Comment, error)

	InsertFeedback(f Feedback) (Feedback, error)
	// ResolveFeedback marks feedback resolved; ErrNotFound when there is none of that ID.
	ResolveFeedback(id int64) error

	// AppendEvent appends an event, assigning its Seq.
	AppendEvent(e Event) (Event, error)
	// Enqueue adds a webhook delivery to the outbox.
	Enqueue(d Delivery) (Delivery, error)

	// InsertQualityRun records a run of a quality rule, assigning its ID.
	InsertQualityRun(r QualityRun) (QualityRun, error)
	// LatestQualityRuns returns the newest run of each named rule that has one, by rule name.
	LatestQualityRuns(rules []string) ([]QualityRun, error)
	// ClaimSlot claims the period starting at slot of a named schedule, and reports whether this
	// transaction is the one that did: the first to claim a slot later than the schedule's last
	// one. Of concurrent transactions claiming the same slot, one commits claiming it; the others
	// claim nothing, or fail with ErrConflict.
	ClaimSlot(name string, slot time.Time) (bool, error)
}

// VersionCounter is implemented by the Tx of a store that counts the committed transactions that
// inserted or changed a version (SQLite's, whose Watch reads the count). A reader that kept the
// count with the versions it read knows, from a transaction that sees the same count, that no
// version changed since — without reading them all again.
type VersionCounter interface {
	// VersionChanges returns the count as the transaction sees the store: a transaction's own
	// changes are counted when it commits. ok is false when the store keeps no count.
	VersionChanges() (n int64, ok bool, err error)
}

// Store keeps the governed definitions and their workflow. Implementations are safe for
// concurrent use, and several processes may share one store (PostgreSQL) or one file (SQLite,
// one writer at a time).
type Store interface {
	// Update runs fn in a transaction and commits it when fn returns nil. A transaction that
	// conflicts with a concurrent one (SQLite busy, PostgreSQL serialization) is retried, fn run
	// again from the start, a few times before ErrConflict.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction: a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error

	// ChangeRequests returns the requests the query selects.
	ChangeRequests(ctx context.Context, q CRQuery) ([]ChangeRequest, error)
	// Feedback returns the feedback the query selects.
	Feedback(ctx context.Context, q FeedbackQuery) ([]Feedback, error)
	// Events returns the events the query selects.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// AppendEvents appends events outside any other change, in one transaction: the audit of
	// queries and logins, which arrives in batches.
	AppendEvents(ctx context.Context, es []Event) error

	// DueDeliveries returns up to limit deliveries not yet done whose next attempt is due at now.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// RecordAttempt records the outcome of a delivery attempt: done (delivered at at), or failed
	// with errMsg, to try again at next.
	RecordAttempt(ctx context.Context, id int64, at time.Time, errMsg string, next time.Time) error

	// QualityRuns returns the runs of quality rules the query selects, newest first.
	QualityRuns(ctx context.Context, q QualityRunQuery) ([]QualityRun, error)

	// HoldLease takes or renews the named lease for holder until now+ttl, and reports whether
	// holder holds it: it does when nobody held it, holder held it already, or the last holder's
	// time ran out before now. ReleaseLease gives it up, if holder holds it.
	HoldLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error

	// Watch calls changed, from a goroutine of its own, whenever another process may have changed
	// the definitions (a version's status), until ctx ends. It returns once it is watching.
	Watch(ctx context.Context, changed func()) error
	// Close releases the store.
	Close() error
}
