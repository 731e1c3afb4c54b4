package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQLStore is the Store kept in a SQL database: a SQLite file (or memory), made by OpenSQLite,
// or a PostgreSQL schema, made by OpenPostgres. The two share every statement; a small dialect
// says how each begins a transaction, tells its errors apart, announces a change to the
// definitions and watches for others' announcements.
//
// The tables are named koujing_semantic_*; schema migrations are recorded in
// koujing_schema_migrations under the component "semantic" and run when the store is opened.
// Times are kept as microseconds since 1970 UTC (bigint), so both databases round-trip them
// exactly: every time a store returns is in UTC, truncated to the microsecond. Items, domains,
// reviewers and subscribers of change requests are rows of child tables, which the request
// queries filter on; audiences and deprecations are JSON text.
//
// Update runs fn in one transaction: in SQLite a BEGIN IMMEDIATE transaction on the store's one
// writing connection (processes sharing a file take turns, waiting up to the busy timeout), in
// PostgreSQL a SERIALIZABLE one. A transaction that loses to a concurrent one (SQLITE_BUSY,
// serialization failure, deadlock) is rolled back and fn is run again, up to 10 times, with a
// short random wait between, before Update gives up with ErrConflict. A panic in fn rolls the
// transaction back and is re-raised. An error fn returns is returned as it is, after the
// rollback; the store's own errors wrap ErrNotFound, ErrConflict or ErrUnavailable. In
// PostgreSQL a statement that fails aborts its transaction: after an error from a Tx method, fn
// should return it.
//
// It is safe for concurrent use.
type SQLStore struct {
	d dialect
	// write runs Updates; read runs Views and the Store's queries. They are one pool in
	// PostgreSQL; in SQLite the writer has a single connection, so that the process's Updates
	// queue in Go rather than polling the file's lock.
	write, read *sql.DB
	// The tables' names, qualified in PostgreSQL.
	versions, crs, items, members, reviews, comments, feedback, events, deliveries, changes string
	qualityRuns, slots, leases                                                              string

	mu           sync.Mutex
	closed       bool
	watchersCtx  context.Context
	stopWatching context.CancelFunc
	watchers     sync.WaitGroup
}

var _ Store = (*SQLStore)(nil)

// dialect is what differs between SQLite and PostgreSQL.
type dialect interface {
	// where names the store in errors: "SQLite file /x/y.db", "PostgreSQL schema s".
	where() string
	// beginUpdate begins a transaction that will write; beginView a read-only snapshot.
	beginUpdate(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	beginView(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// lockEvents is called in a transaction before it appends its first event, so that events
	// are committed in the order of their Seq and a reader paging with AfterSeq misses none.
	lockEvents(ctx context.Context, tx *sql.Tx) error
	// announce is called before committing a transaction that changed a version, to tell other
	// stores' Watch; forget is called if the commit fails.
	announce(ctx context.Context, tx *sql.Tx) (forget func(), err error)
	// watch starts watching for other stores' announcements, returning once it does, and gives
	// the loop that calls changed until ctx ends.
	watch(ctx context.Context, changed func()) (loop func(), err error)
	// classify says what an error of the database means.
	classify(err error) errClass
	// close releases what the dialect holds; the store has stopped its watchers.
	close() error
}

// errClass is what a database error means to the store.
type errClass int

const (
	classOther errClass = iota
	// classRetry: the transaction lost to a concurrent one; running it again may succeed.
	classRetry
	// classUnique: a unique key is taken (ErrConflict).
	classUnique
	// classForeignKey: a row refers to one that does not exist (ErrNotFound).
	classForeignKey
	// classUnavailable: the database could not be reached, opened or written (ErrUnavailable).
	classUnavailable
)

// updateAttempts is how many times Update runs a transaction that keeps losing to concurrent
// ones; retryWait is the longest wait before the first retry, doubled for each further one.
const (
	updateAttempts = 10
	retryWait      = 5 * time.Millisecond
)

// Limits when a query names none.
const defaultLimit = 100

// txStepHook, when set, is called after each statement of an Update and before its commit: the
// crash test sets it to pause, so that its kills land inside transactions.
var txStepHook func()

func newSQLStore(d dialect, write, read *sql.DB, prefix string) *SQLStore {
	s := &SQLStore{d: d, write: write, read: read}
	for _, t := range []struct {
		name *string
		base string
	}{
		{&s.versions, "versions"}, {&s.crs, "change_requests"}, {&s.items, "change_request_items"},
		{&s.members, "change_request_members"}, {&s.reviews, "reviews"}, {&s.comments, "comments"},
		{&s.feedback, "feedback"}, {&s.events, "events"}, {&s.deliveries, "deliveries"}, {&s.changes, "changes"},
		{&s.qualityRuns, "quality_runs"}, {&s.slots, "schedule_slots"}, {&s.leases, "leases"},
	} {
		*t.name = prefix + "koujing_semantic_" + t.base
	}
	s.watchersCtx, s.stopWatching = context.WithCancel(context.Background())
	return s
}

// errorf returns err, met doing what, as a store error: wrapping ErrUnavailable, ErrConflict or
// ErrNotFound when the database's error is of that class, and as it is otherwise.
func (s *SQLStore) errorf(what string, err error) error {
	var class error
	switch s.d.classify(err) {
	case classUnavailable:
		class = ErrUnavailable
	case classUnique, classRetry:
		class = ErrConflict
	case classForeignKey:
		class = ErrNotFound
	default:
		return fmt.Errorf("metadata store in %s: %s: %w", s.d.where(), what, err)
	}
	return fmt.Errorf("metadata store in %s: %s: %w: %w", s.d.where(), what, class, err)
}

func (s *SQLStore) usable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("metadata store in %s: %w: the store is closed", s.d.where(), ErrUnavailable)
	}
	return nil
}

// Update runs fn in a transaction and commits it if fn returns nil; see SQLStore.
func (s *SQLStore) Update(ctx context.Context, fn func(Tx) error) error {
	if err := s.usable(); err != nil {
		return err
	}
	return s.retrying(ctx, "update", func() (bool, error) { return s.updateOnce(ctx, fn) })
}

// retrying calls try until it succeeds, fails for good, or has lost to concurrent transactions
// updateAttempts times, waiting a little longer after each loss.
func (s *SQLStore) retrying(ctx context.Context, what string, try func() (retry bool, err error)) error {
	wait := retryWait
	for attempt := 1; ; attempt++ {
		retry, err := try()
		if !retry {
			return err
		}
		if attempt == updateAttempts {
			return fmt.Errorf("metadata store in %s: %s lost to concurrent transactions %d times: %w: %w", s.d.where(), what, attempt, ErrConflict, err)
		}
		select {
		case <-ctx.Done():
			return s.errorf(what, ctx.Err())
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		}
		wait *= 2
	}
}

// updateOnce runs fn in one transaction, and reports whether it lost to a concurrent one and may
// be run again.
func (s *SQLStore) updateOnce(ctx context.Context, fn func(Tx) error) (retry bool, err error) {
	sqlTx, err := s.d.beginUpdate(ctx, s.write)
	if err != nil {
		return s.d.classify(err) == classRetry, s.errorf("begin a transaction", err)
	}
	t := &tx{s: s, ctx: ctx, tx: sqlTx}
	finished := false
	defer func() {
		if !finished { // fn panicked: roll back and let the panic go on
			sqlTx.Rollback()
		}
	}()
	err = fn(t)
	var forget func()
	if err == nil && t.changedVersions {
		forget, err = s.d.announce(ctx, sqlTx)
		err = t.fail("announce the change", err)
	}
	if err != nil {
		finished = true
		sqlTx.Rollback()
		return t.retry, err
	}
	t.step()
	finished = true
	if err := sqlTx.Commit(); err != nil {
		if forget != nil {
			forget()
		}
		return s.d.classify(err) == classRetry, s.errorf("commit", err)
	}
	return false, nil
}

// View runs fn in a read-only transaction.
func (s *SQLStore) View(ctx context.Context, fn func(Tx) error) error {
	if err := s.usable(); err != nil {
		return err
	}
	sqlTx, err := s.d.beginView(ctx, s.read)
	if err != nil {
		return s.errorf("begin a read-only transaction", err)
	}
	defer sqlTx.Rollback()
	return fn(&tx{s: s, ctx: ctx, tx: sqlTx, readOnly: true})
}

// ChangeRequests returns the requests the query selects, newest first, read in one snapshot.
func (s *SQLStore) ChangeRequests(ctx context.Context, q CRQuery) ([]ChangeRequest, error) {
	var out []ChangeRequest
	err := s.View(ctx, func(t Tx) error {
		var err error
		out, err = t.(*tx).changeRequests(q)
		return err
	})
	return out, err
}

// Feedback returns the feedback the query selects, newest first.
func (s *SQLStore) Feedback(ctx context.Context, q FeedbackQuery) ([]Feedback, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var b builder
	b.sql("SELECT " + feedbackColumns + " FROM " + s.feedback + " WHERE true")
	if q.Metric != "" {
		b.sql(" AND metric = " + b.arg(q.Metric))
	}
	if q.Owner != "" {
		b.sql(" AND owner = " + b.arg(q.Owner))
	}
	if q.Unresolved {
		b.sql(" AND NOT resolved")
	}
	if q.BeforeID > 0 {
		b.sql(" AND id < " + b.arg(q.BeforeID))
	}
	b.sql(" ORDER BY id DESC LIMIT " + b.arg(limit(q.Limit)))
	out, err := collect(ctx, s.read, &b, scanFeedback)
	if err != nil {
		return nil, s.errorf("read feedback", err)
	}
	return out, nil
}

// Events returns the events of q.Tenant that q selects, oldest first. Since is inclusive, Until
// exclusive. A query of no tenant selects the events recorded without one.
func (s *SQLStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var b builder
	b.sql("SELECT " + eventColumns + " FROM " + s.events + " WHERE tenant = " + b.arg(q.Tenant))
	if q.AfterSeq > 0 {
		b.sql(" AND seq > " + b.arg(q.AfterSeq))
	}
	if len(q.Types) > 0 {
		var alts []string
		for _, typ := range q.Types {
			// substr rather than LIKE, whose _ is a wildcard and which SQLite folds case for.
			prefix := typ + "."
			alts = append(alts, "type = "+b.arg(typ), "substr(type, 1, "+strconv.Itoa(len([]rune(prefix)))+") = "+b.arg(prefix))
		}
		b.sql(" AND (" + strings.Join(alts, " OR ") + ")")
	}
	if q.Actor != "" {
		b.sql(" AND actor = " + b.arg(q.Actor))
	}
	if q.Object != "" {
		b.sql(" AND object = " + b.arg(q.Object))
	}
	if !q.Since.IsZero() {
		b.sql(" AND at >= " + b.arg(q.Since.UnixMicro()))
	}
	if !q.Until.IsZero() {
		b.sql(" AND at < " + b.arg(q.Until.UnixMicro()))
	}
	b.sql(" ORDER BY seq LIMIT " + b.arg(limit(q.Limit)))
	out, err := collect(ctx, s.read, &b, scanEvent)
	if err != nil {
		return nil, s.errorf("read events", err)
	}
	return out, nil
}

// AppendEvents appends events in one transaction, stamping those without a time with the time
// now.
func (s *SQLStore) AppendEvents(ctx context.Context, es []Event) error {
	if len(es) == 0 {
		return nil
	}
	return s.Update(ctx, func(t Tx) error { return t.(*tx).appendEvents(es) })
}

// DueDeliveries returns up to limit deliveries not yet done whose next attempt is at or before
// now, the longest waiting first.
func (s *SQLStore) DueDeliveries(ctx context.Context, now time.Time, n int) ([]Delivery, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var b builder
	b.sql("SELECT " + deliveryColumns + " FROM " + s.deliveries + " WHERE delivered_at IS NULL AND next_attempt <= " +
		b.arg(now.UnixMicro()) + " ORDER BY next_attempt, id LIMIT " + b.arg(limit(n)))
	out, err := collect(ctx, s.read, &b, scanDelivery)
	if err != nil {
		return nil, s.errorf("read due deliveries", err)
	}
	return out, nil
}

// RecordAttempt counts an attempt of a delivery: with errMsg empty it is done, delivered at at;
// otherwise it failed with errMsg and is due again at next. ErrNotFound when there is no
// delivery of that ID.
func (s *SQLStore) RecordAttempt(ctx context.Context, id int64, at time.Time, errMsg string, next time.Time) error {
	return s.Update(ctx, func(t Tx) error {
		t1 := t.(*tx)
		var res sql.Result
		var err error
		if errMsg == "" {
			res, err = t1.exec("UPDATE "+s.deliveries+" SET attempts = attempts + 1, delivered_at = $1, last_error = '' WHERE id = $2",
				orNow(at).UnixMicro(), id)
		} else {
			res, err = t1.exec("UPDATE "+s.deliveries+" SET attempts = attempts + 1, next_attempt = $1, last_error = $2 WHERE id = $3",
				orNow(next).UnixMicro(), errMsg, id)
		}
		return t1.oneRow("record a delivery attempt", res, err, "no delivery %d", id)
	})
}

// Watch calls changed whenever another store (another process, or another SQLStore of this
// one) changed a version; see OpenSQLite and OpenPostgres for how each learns of it.
func (s *SQLStore) Watch(ctx context.Context, changed func()) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.usable()
	}
	s.watchers.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.watchersCtx, cancel)
	loop, err := s.d.watch(ctx, changed)
	if err != nil {
		stop()
		cancel()
		s.watchers.Done()
		return s.errorf("watch", err)
	}
	go func() {
		defer s.watchers.Done()
		defer stop()
		defer cancel()
		loop()
	}()
	return nil
}

// Close stops the store's watchers and closes its connections (in PostgreSQL, not the pool it
// was given). Calls after Close fail with ErrUnavailable.
func (s *SQLStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopWatching()
	s.watchers.Wait()
	return s.d.close()
}

// tx is the Tx of an Update or a View.
type tx struct {
	s        *SQLStore
	ctx      context.Context
	tx       *sql.Tx
	readOnly bool
	// retry is set when a statement lost to a concurrent transaction, whatever fn then does with
	// its error: the transaction is run again.
	retry bool
	// changedVersions is set when a version was inserted or changed, to announce it.
	changedVersions bool
	// eventsLocked is set once the transaction holds the events' lock.
	eventsLocked bool
}

var _ Tx = (*tx)(nil)

var _ VersionCounter = (*tx)(nil)

// VersionChanges reads the change counter that SQLite's Updates bump when they change versions;
// PostgreSQL's announce changes by notification and keep no count.
func (t *tx) VersionChanges() (int64, bool, error) {
	if _, counts := t.s.d.(*sqliteDialect); !counts {
		return 0, false, nil
	}
	var n int64
	if err := t.tx.QueryRowContext(t.ctx, "SELECT counter FROM "+t.s.changes+" WHERE id = 1").Scan(&n); err != nil {
		return 0, false, t.fail("read the change counter", err)
	}
	return n, true, nil
}

func (t *tx) step() {
	if txStepHook != nil {
		txStepHook()
	}
}

// fail returns err, met doing what, as a store error, noting whether the transaction lost to a
// concurrent one. A nil err stays nil.
func (t *tx) fail(what string, err error) error {
	if err == nil {
		return nil
	}
	if t.s.d.classify(err) == classRetry {
		t.retry = true
	}
	return t.s.errorf(what, err)
}

func (t *tx) writable(what string) error {
	if t.readOnly {
		return fmt.Errorf("metadata store in %s: %s in a read-only transaction: use Update, not View", t.s.d.where(), what)
	}
	return nil
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(t.ctx, query, args...)
	t.step()
	return res, err
}

// oneRow checks that a statement changed one row: ErrNotFound, with the message format and
// args give, when it changed none.
func (t *tx) oneRow(what string, res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return t.fail(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(what, err)
	}
	if n == 0 {
		return fmt.Errorf("metadata store in %s: %s: %w: %s", t.s.d.where(), what, ErrNotFound, fmt.Sprintf(format, args...))
	}
	return nil
}

// insert runs an INSERT … RETURNING of one row and scans what it returns into dest.
func (t *tx) insert(what, query string, args []any, dest ...any) error {
	if err := t.writable(what); err != nil {
		return err
	}
	err := t.tx.QueryRowContext(t.ctx, query, args...).Scan(dest...)
	t.step()
	return t.fail(what, err)
}

const versionColumns = "id, kind, name, number, status, definition, hash, author, note, created_at, change_request, published_at, audience, deprecation"

// Versions returns the versions q selects, by kind, name and number.
func (t *tx) Versions(q VersionQuery) ([]Version, error) {
	var b builder
	b.sql("SELECT " + versionColumns + " FROM " + t.s.versions + " WHERE true")
	if q.Kind != "" {
		b.sql(" AND kind = " + b.arg(q.Kind))
	}
	if q.Name != "" {
		b.sql(" AND name = " + b.arg(q.Name))
	}
	if len(q.Statuses) > 0 {
		b.sql(" AND status IN " + list(&b, q.Statuses))
	}
	if q.ChangeRequest != 0 {
		b.sql(" AND change_request = " + b.arg(q.ChangeRequest))
	}
	b.sql(" ORDER BY kind, name, number")
	out, err := collect(t.ctx, t.tx, &b, scanVersion)
	return out, t.fail("read versions", err)
}

// InsertVersion stores v as the next version of its kind and name, stamping a zero CreatedAt
// with the time now.
func (t *tx) InsertVersion(v Version) (Version, error) {
	v.CreatedAt = orNow(v.CreatedAt)
	v.PublishedAt = storeTime(v.PublishedAt)
	audience, deprecation, err := jsonOf(v.Audience, v.Deprecation)
	if err != nil {
		return Version{}, err
	}
	// The number is the next of the name's, read in the same statement; in PostgreSQL a
	// concurrent transaction taking the same number fails one of the two, which is run again.
	err = t.insert("insert a version of "+string(v.Kind)+" "+v.Name, "INSERT INTO "+t.s.versions+
		" (kind, name, number, status, definition, hash, author, note, created_at, change_request, published_at, audience, deprecation)"+
		" VALUES ($1, $2, (SELECT COALESCE(MAX(number), 0) + 1 FROM "+t.s.versions+" WHERE kind = $1 AND name = $2),"+
		" $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id, number",
		[]any{v.Kind, v.Name, v.Status, v.Definition, v.Hash, v.Author, v.Note, v.CreatedAt.UnixMicro(),
			nullID(v.ChangeRequest), nullTime(v.PublishedAt), audience, deprecation},
		&v.ID, &v.Number)
	if err != nil {
		if errors.Is(err, ErrConflict) {
			t.retry = true // another transaction took the number
		}
		return Version{}, err
	}
	t.changedVersions = true
	v.Audience, v.Deprecation = cloneAudience(v.Audience), canonicalDeprecation(v.Deprecation)
	return v, nil
}

// SetVersionStatus moves the version on; ErrNotFound when there is none of that ID.
func (t *tx) SetVersionStatus(id int64, s Status, publishedAt time.Time, a *Audience, d *Deprecation) error {
	const what = "set a version's status"
	if err := t.writable(what); err != nil {
		return err
	}
	audience, deprecation, err := jsonOf(a, d)
	if err != nil {
		return err
	}
	res, err := t.exec("UPDATE "+t.s.versions+" SET status = $1, published_at = $2, audience = $3, deprecation = $4 WHERE id = $5",
		s, nullTime(publishedAt), audience, deprecation, id)
	if err := t.oneRow(what, res, err, "no version %d", id); err != nil {
		return err
	}
	t.changedVersions = true
	return nil
}

const crColumns = "id, title, rationale, author, tenant, status, revision, approvals_required, audience, created_at, updated_at, due_at"

// ChangeRequest returns the request with that ID, or ErrNotFound.
func (t *tx) ChangeRequest(id int64) (ChangeRequest, error) {
	crs, err := t.changeRequestsWhere("read change request "+strconv.FormatInt(id, 10), "id = $1", id)
	if err != nil {
		return ChangeRequest{}, err
	}
	if len(crs) == 0 {
		return ChangeRequest{}, fmt.Errorf("metadata store in %s: %w: no change request %d", t.s.d.where(), ErrNotFound, id)
	}
	return crs[0], nil
}

func (t *tx) changeRequests(q CRQuery) ([]ChangeRequest, error) {
	var b builder
	b.sql("true")
	if len(q.Statuses) > 0 {
		b.sql(" AND status IN " + list(&b, q.Statuses))
	}
	member := func(role, value string) {
		b.sql(" AND EXISTS (SELECT 1 FROM " + t.s.members + " m WHERE m.change_request = c.id AND m.role = '" + role +
			"' AND m.value = " + b.arg(value) + ")")
	}
	if q.Domain != "" {
		member(roleDomain, q.Domain)
	}
	if q.Reviewer != "" {
		member(roleReviewer, q.Reviewer)
	}
	if q.Author != "" {
		b.sql(" AND author = " + b.arg(q.Author))
	}
	if q.Kind != "" || q.Name != "" {
		b.sql(" AND EXISTS (SELECT 1 FROM " + t.s.items + " i WHERE i.change_request = c.id")
		if q.Kind != "" {
			b.sql(" AND i.kind = " + b.arg(q.Kind))
		}
		if q.Name != "" {
			b.sql(" AND i.name = " + b.arg(q.Name))
		}
		b.sql(")")
	}
	if !q.DueBefore.IsZero() {
		b.sql(" AND due_at < " + b.arg(q.DueBefore.UnixMicro()))
	}
	if q.BeforeID > 0 {
		b.sql(" AND id < " + b.arg(q.BeforeID))
	}
	b.sql(" ORDER BY id DESC LIMIT " + b.arg(limit(q.Limit)))
	return t.changeRequestsWhere("read change requests", b.text.String(), b.args...)
}

// changeRequestsWhere reads the requests that cond selects, with their items and members.
func (t *tx) changeRequestsWhere(what, cond string, args ...any) ([]ChangeRequest, error) {
	b := builder{args: args}
	b.sql("SELECT " + crColumns + " FROM " + t.s.crs + " c WHERE " + cond)
	crs, err := collect(t.ctx, t.tx, &b, scanChangeRequest)
	if err != nil || len(crs) == 0 {
		return nil, t.fail(what, err)
	}
	byID := make(map[int64]*ChangeRequest, len(crs))
	ids := make([]int64, len(crs))
	for i := range crs {
		byID[crs[i].ID] = &crs[i]
		ids[i] = crs[i].ID
	}
	// The children of a page of requests, a chunk of IDs at a time.
	for chunk := range chunks(ids, 500) {
		var items builder
		items.sql("SELECT change_request, kind, name, action, version, base_version FROM " + t.s.items +
			" WHERE change_request IN " + list(&items, chunk) + " ORDER BY change_request, position")
		err := each(t.ctx, t.tx, &items, func(r scanner) error {
			var id int64
			var it Item
			if err := r.Scan(&id, &it.Kind, &it.Name, &it.Action, &it.Version, &it.BaseVersion); err != nil {
				return err
			}
			byID[id].Items = append(byID[id].Items, it)
			return nil
		})
		if err != nil {
			return nil, t.fail(what, err)
		}
		var members builder
		members.sql("SELECT change_request, role, value FROM " + t.s.members +
			" WHERE change_request IN " + list(&members, chunk) + " ORDER BY change_request, role, position")
		err = each(t.ctx, t.tx, &members, func(r scanner) error {
			var id int64
			var role, value string
			if err := r.Scan(&id, &role, &value); err != nil {
				return err
			}
			cr := byID[id]
			switch role {
			case roleDomain:
				cr.Domains = append(cr.Domains, value)
			case roleReviewer:
				cr.Reviewers = append(cr.Reviewers, value)
			case roleSubscriber:
				cr.Subscribers = append(cr.Subscribers, value)
			}
			return nil
		})
		if err != nil {
			return nil, t.fail(what, err)
		}
	}
	return crs, nil
}

// The roles of a change request's members.
const (
	roleDomain     = "domain"
	roleReviewer   = "reviewer"
	roleSubscriber = "subscriber"
)

// InsertChangeRequest stores a new request at revision 1, stamping a zero CreatedAt with the
// time now and a zero UpdatedAt with CreatedAt.
func (t *tx) InsertChangeRequest(cr ChangeRequest) (ChangeRequest, error) {
	cr = canonicalCR(cr)
	cr.Revision = 1
	cr.CreatedAt = orNow(cr.CreatedAt)
	if cr.UpdatedAt.IsZero() {
		cr.UpdatedAt = cr.CreatedAt
	}
	audience, _, err := jsonOf(cr.Audience, nil)
	if err != nil {
		return ChangeRequest{}, err
	}
	err = t.insert("insert a change request", "INSERT INTO "+t.s.crs+
		" (title, rationale, author, tenant, status, revision, approvals_required, audience, created_at, updated_at, due_at)"+
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
		[]any{cr.Title, cr.Rationale, cr.Author, cr.Tenant, cr.Status, cr.Revision, cr.ApprovalsRequired, audience,
			cr.CreatedAt.UnixMicro(), cr.UpdatedAt.UnixMicro(), nullTime(cr.DueAt)},
		&cr.ID)
	if err != nil {
		return ChangeRequest{}, err
	}
	if err := t.writeChildren(cr, false); err != nil {
		return ChangeRequest{}, err
	}
	return cr, nil
}

// UpdateChangeRequest stores cr as the revision after cr.Revision, stamping a zero UpdatedAt
// with the time now.
func (t *tx) UpdateChangeRequest(cr ChangeRequest) (ChangeRequest, error) {
	what := "update change request " + strconv.FormatInt(cr.ID, 10)
	if err := t.writable(what); err != nil {
		return ChangeRequest{}, err
	}
	cr = canonicalCR(cr)
	cr.UpdatedAt = orNow(cr.UpdatedAt)
	audience, _, err := jsonOf(cr.Audience, nil)
	if err != nil {
		return ChangeRequest{}, err
	}
	res, err := t.exec("UPDATE "+t.s.crs+" SET title = $1, rationale = $2, author = $3, tenant = $4, status = $5,"+
		" revision = revision + 1, approvals_required = $6, audience = $7, created_at = $8, updated_at = $9, due_at = $10"+
		" WHERE id = $11 AND revision = $12",
		cr.Title, cr.Rationale, cr.Author, cr.Tenant, cr.Status, cr.ApprovalsRequired, audience,
		cr.CreatedAt.UnixMicro(), cr.UpdatedAt.UnixMicro(), nullTime(cr.DueAt), cr.ID, cr.Revision)
	if err := t.oneRow(what, res, err, "no change request %d", cr.ID); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return ChangeRequest{}, err
		}
		// No row of that ID and revision: either there is no such request or it has moved on.
		var revision int
		err := t.tx.QueryRowContext(t.ctx, "SELECT revision FROM "+t.s.crs+" WHERE id = $1", cr.ID).Scan(&revision)
		if errors.Is(err, sql.ErrNoRows) {
			return ChangeRequest{}, fmt.Errorf("metadata store in %s: %s: %w: no such change request", t.s.d.where(), what, ErrNotFound)
		} else if err != nil {
			return ChangeRequest{}, t.fail(what, err)
		}
		return ChangeRequest{}, fmt.Errorf("metadata store in %s: %s: %w: it was read at revision %d and is at revision %d now; read it again",
			t.s.d.where(), what, ErrConflict, cr.Revision, revision)
	}
	cr.Revision++
	if err := t.writeChildren(cr, true); err != nil {
		return ChangeRequest{}, err
	}
	return cr, nil
}

// writeChildren stores the items and members of cr, replacing those it had.
func (t *tx) writeChildren(cr ChangeRequest, replace bool) error {
	const what = "store a change request's items"
	if replace {
		for _, table := range []string{t.s.items, t.s.members} {
			if _, err := t.exec("DELETE FROM "+table+" WHERE change_request = $1", cr.ID); err != nil {
				return t.fail(what, err)
			}
		}
	}
	if len(cr.Items) > 0 {
		rows := make([][]any, len(cr.Items))
		for i, it := range cr.Items {
			rows[i] = []any{cr.ID, i, it.Kind, it.Name, it.Action, it.Version, it.BaseVersion}
		}
		if err := t.insertRows(what, t.s.items, "change_request, position, kind, name, action, version, base_version", rows); err != nil {
			return err
		}
	}
	var rows [][]any
	for _, m := range []struct {
		role   string
		values []string
	}{{roleDomain, cr.Domains}, {roleReviewer, cr.Reviewers}, {roleSubscriber, cr.Subscribers}} {
		for i, v := range m.values {
			rows = append(rows, []any{cr.ID, m.role, i, v})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return t.insertRows(what, t.s.members, "change_request, role, position, value", rows)
}

// insertRows inserts rows into table, many in a statement.
func (t *tx) insertRows(what, table, columns string, rows [][]any) error {
	const perStatement = 500
	for chunk := range chunks(rows, perStatement) {
		var b builder
		b.sql("INSERT INTO " + table + " (" + columns + ") VALUES ")
		for i, row := range chunk {
			if i > 0 {
				b.sql(", ")
			}
			b.sql(list(&b, row))
		}
		if _, err := t.exec(b.text.String(), b.args...); err != nil {
			return t.fail(what, err)
		}
	}
	return nil
}

const reviewColumns = "id, change_request, revision, reviewer, decision, domains, note, at"

// Reviews returns the request's reviews, oldest first.
func (t *tx) Reviews(cr int64) ([]Review, error) {
	return ofRequest(t, "read reviews", reviewColumns, t.s.reviews, cr, scanReview)
}

// ofRequest reads a request's rows of a table (its reviews, its comments), oldest first.
func ofRequest[T any](t *tx, what, columns, table string, cr int64, scan func(scanner) (T, error)) ([]T, error) {
	var b builder
	b.sql("SELECT " + columns + " FROM " + table + " WHERE change_request = " + b.arg(cr) + " ORDER BY id")
	out, err := collect(t.ctx, t.tx, &b, scan)
	return out, t.fail(what, err)
}

// InsertReview stores a review, stamping a zero At with the time now; ErrNotFound when its
// request does not exist. Its domains are kept as a JSON list (none reads back as nil).
func (t *tx) InsertReview(r Review) (Review, error) {
	r.At = orNow(r.At)
	r.Domains = nilIfEmpty(r.Domains)
	domains, err := nullJSON(r.Domains, r.Domains == nil)
	if err != nil {
		return Review{}, err
	}
	err = t.insert("insert a review", "INSERT INTO "+t.s.reviews+" (change_request, revision, reviewer, decision, domains, note, at)"+
		" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
		[]any{r.ChangeRequest, r.Revision, r.Reviewer, r.Decision, domains, r.Note, r.At.UnixMicro()}, &r.ID)
	if err != nil {
		return Review{}, err
	}
	return r, nil
}

const commentColumns = "id, change_request, parent, author, body, at"

// Comments returns the request's comments, oldest first.
func (t *tx) Comments(cr int64) ([]Comment, error) {
	return ofRequest(t, "read comments", commentColumns, t.s.comments, cr, scanComment)
}

// InsertComment stores a comment, stamping a zero At with the time now; ErrNotFound when its
// request or the comment it answers does not exist.
func (t *tx) InsertComment(c Comment) (Comment, error) {
	c.At = orNow(c.At)
	err := t.insert("insert a comment", "INSERT INTO "+t.s.comments+" (change_request, parent, author, body, at)"+
		" VALUES ($1, $2, $3, $4, $5) RETURNING id",
		[]any{c.ChangeRequest, nullID(c.Parent), c.Author, c.Body, c.At.UnixMicro()}, &c.ID)
	if err != nil {
		return Comment{}, err
	}
	return c, nil
}

const feedbackColumns = "id, metric, version, owner, author, tenant, note, query, resolved, at"

// InsertFeedback stores feedback, stamping a zero At with the time now.
func (t *tx) InsertFeedback(f Feedback) (Feedback, error) {
	f.At = orNow(f.At)
	err := t.insert("insert feedback", "INSERT INTO "+t.s.feedback+" (metric, version, owner, author, tenant, note, query, resolved, at)"+
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
		[]any{f.Metric, f.Version, f.Owner, f.Author, f.Tenant, f.Note, f.Query, f.Resolved, f.At.UnixMicro()}, &f.ID)
	if err != nil {
		return Feedback{}, err
	}
	return f, nil
}

// ResolveFeedback marks feedback resolved; ErrNotFound when there is none of that ID.
func (t *tx) ResolveFeedback(id int64) error {
	const what = "resolve feedback"
	if err := t.writable(what); err != nil {
		return err
	}
	res, err := t.exec("UPDATE "+t.s.feedback+" SET resolved = true WHERE id = $1", id)
	return t.oneRow(what, res, err, "no feedback %d", id)
}

const eventColumns = "seq, at, tenant, actor, type, object, detail"

// AppendEvent appends an event, stamping a zero At with the time now.
func (t *tx) AppendEvent(e Event) (Event, error) {
	if err := t.lockEvents(); err != nil {
		return Event{}, err
	}
	e.At = orNow(e.At)
	err := t.insert("append an event", "INSERT INTO "+t.s.events+" (at, tenant, actor, type, object, detail)"+
		" VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
		[]any{e.At.UnixMicro(), e.Tenant, e.Actor, e.Type, e.Object, e.Detail}, &e.Seq)
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

func (t *tx) lockEvents() error {
	if t.eventsLocked || t.readOnly {
		return nil
	}
	err := t.s.d.lockEvents(t.ctx, t.tx)
	t.eventsLocked = err == nil
	return t.fail("lock the events", err)
}

// appendEvents appends events, many in a statement.
func (t *tx) appendEvents(es []Event) error {
	const what = "append events"
	if err := t.writable(what); err != nil {
		return err
	}
	if err := t.lockEvents(); err != nil {
		return err
	}
	rows := make([][]any, len(es))
	now := time.Now()
	for i, e := range es {
		at := e.At
		if at.IsZero() {
			at = now
		}
		rows[i] = []any{at.UnixMicro(), e.Tenant, e.Actor, e.Type, e.Object, e.Detail}
	}
	return t.insertRows(what, t.s.events, "at, tenant, actor, type, object, detail", rows)
}

const deliveryColumns = "id, event, url, payload, attempts, next_attempt, delivered_at, last_error"

// Enqueue adds a delivery to the outbox, due at its NextAttempt, or at once if that is zero.
func (t *tx) Enqueue(d Delivery) (Delivery, error) {
	d.NextAttempt = orNow(d.NextAttempt)
	d.DeliveredAt = storeTime(d.DeliveredAt)
	err := t.insert("enqueue a delivery", "INSERT INTO "+t.s.deliveries+" (event, url, payload, attempts, next_attempt, delivered_at, last_error)"+
		" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
		[]any{nullID(d.Event), d.URL, d.Payload, d.Attempts, d.NextAttempt.UnixMicro(), nullTime(d.DeliveredAt), d.LastError}, &d.ID)
	if err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// builder writes a statement and its arguments, numbering them $1, $2 … as both SQLite and
// PostgreSQL read them.
type builder struct {
	text strings.Builder
	args []any
}

func (b *builder) sql(s string) { b.text.WriteString(s) }

// arg adds an argument and returns its placeholder.
func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// list adds arguments and returns their placeholders in parentheses: ($1, $2).
func list[T any](b *builder, vs []T) string {
	var s strings.Builder
	s.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(b.arg(v))
	}
	s.WriteByte(')')
	return s.String()
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// each runs the builder's query and calls fn for each row.
func each(ctx context.Context, q queryer, b *builder, fn func(scanner) error) error {
	rows, err := q.QueryContext(ctx, b.text.String(), b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// collect runs the builder's query and scans every row with scan.
func collect[T any](ctx context.Context, q queryer, b *builder, scan func(scanner) (T, error)) ([]T, error) {
	var out []T
	err := each(ctx, q, b, func(r scanner) error {
		v, err := scan(r)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			m := min(n, len(s))
			if !yield(s[:m]) {
				return
			}
			s = s[m:]
		}
	}
}

func scanVersion(r scanner) (Version, error) {
	var v Version
	var created int64
	var cr, published sql.NullInt64
	var audience, deprecation sql.NullString
	err := r.Scan(&v.ID, &v.Kind, &v.Name, &v.Number, &v.Status, &v.Definition, &v.Hash, &v.Author, &v.Note,
		&created, &cr, &published, &audience, &deprecation)
	if err != nil {
		return v, err
	}
	v.CreatedAt, v.ChangeRequest, v.PublishedAt = fromMicros(created), cr.Int64, timeOf(published)
	v.Audience, err = fromJSON[Audience](audience)
	if err == nil {
		v.Deprecation, err = fromJSON[Deprecation](deprecation)
	}
	return v, err
}

func scanChangeRequest(r scanner) (ChangeRequest, error) {
	var cr ChangeRequest
	var created, updated int64
	var due sql.NullInt64
	var audience sql.NullString
	err := r.Scan(&cr.ID, &cr.Title, &cr.Rationale, &cr.Author, &cr.Tenant, &cr.Status, &cr.Revision,
		&cr.ApprovalsRequired, &audience, &created, &updated, &due)
	if err != nil {
		return cr, err
	}
	cr.CreatedAt, cr.UpdatedAt, cr.DueAt = fromMicros(created), fromMicros(updated), timeOf(due)
	cr.Audience, err = fromJSON[Audience](audience)
	return cr, err
}

func scanReview(r scanner) (Review, error) {
	var rv Review
	var at int64
	var domains sql.NullString
	err := r.Scan(&rv.ID, &rv.ChangeRequest, &rv.Revision, &rv.Reviewer, &rv.Decision, &domains, &rv.Note, &at)
	if err != nil {
		return rv, err
	}
	rv.At = fromMicros(at)
	if list, err := fromJSON[[]string](domains); err != nil || list == nil {
		return rv, err
	} else {
		rv.Domains = *list
	}
	return rv, nil
}

func scanComment(r scanner) (Comment, error) {
	var c Comment
	var at int64
	var parent sql.NullInt64
	err := r.Scan(&c.ID, &c.ChangeRequest, &parent, &c.Author, &c.Body, &at)
	c.Parent, c.At = parent.Int64, fromMicros(at)
	return c, err
}

func scanFeedback(r scanner) (Feedback, error) {
	var f Feedback
	var at int64
	err := r.Scan(&f.ID, &f.Metric, &f.Version, &f.Owner, &f.Author, &f.Tenant, &f.Note, &f.Query, &f.Resolved, &at)
	f.At = fromMicros(at)
	return f, err
}

func scanEvent(r scanner) (Event, error) {
	var e Event
	var at int64
	err := r.Scan(&e.Seq, &at, &e.Tenant, &e.Actor, &e.Type, &e.Object, &e.Detail)
	e.At = fromMicros(at)
	return e, err
}

func scanDelivery(r scanner) (Delivery, error) {
	var d Delivery
	var event, delivered sql.NullInt64
	var next int64
	err := r.Scan(&d.ID, &event, &d.URL, &d.Payload, &d.Attempts, &next, &delivered, &d.LastError)
	d.Event, d.NextAttempt, d.DeliveredAt = event.Int64, fromMicros(next), timeOf(delivered)
	return d, err
}

// storeTime is t as the store keeps it: in UTC, to the microsecond; zero stays zero.
func storeTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromMicros(t.UnixMicro())
}

// orNow is t as the store keeps it, or the time now if t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return storeTime(t)
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTime is a time's column value: NULL for the zero time.
func nullTime(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: !t.IsZero()}
}

func timeOf(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

// nullID is a reference's column value: NULL for 0, which refers to nothing.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func limit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return n
}

// jsonOf is the JSON text of an audience and a deprecation, NULL for nil ones.
func jsonOf(a *Audience, d *Deprecation) (audience, deprecation sql.NullString, err error) {
	d = canonicalDeprecation(d)
	if audience, err = nullJSON(a, a == nil); err == nil {
		deprecation, err = nullJSON(d, d == nil)
	}
	return audience, deprecation, err
}

// nullJSON is v's JSON text, or NULL if v is absent.
func nullJSON(v any, absent bool) (sql.NullString, error) {
	if absent {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	return sql.NullString{String: string(b), Valid: err == nil}, err
}

func fromJSON[T any](s sql.NullString) (*T, error) {
	if !s.Valid {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(s.String), v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// cloneAudience is a as it reads back: nil stays nil, empty lists are nil.
func cloneAudience(a *Audience) *Audience {
	if a == nil {
		return nil
	}
	return &Audience{Roles: nilIfEmpty(a.Roles), Tenants: nilIfEmpty(a.Tenants)}
}

// canonicalDeprecation is d as it reads back: its sunset in UTC to the microsecond.
func canonicalDeprecation(d *Deprecation) *Deprecation {
	if d == nil {
		return nil
	}
	c := *d
	c.Sunset = storeTime(c.Sunset)
	return &c
}

// canonicalCR is cr as it reads back: lists not shared with the caller, empty ones nil, times
// in UTC to the microsecond.
func canonicalCR(cr ChangeRequest) ChangeRequest {
	cr.Items = nilIfEmpty(cr.Items)
	cr.Domains, cr.Reviewers, cr.Subscribers = nilIfEmpty(cr.Domains), nilIfEmpty(cr.Reviewers), nilIfEmpty(cr.Subscribers)
	cr.Audience = cloneAudience(cr.Audience)
	cr.CreatedAt, cr.UpdatedAt, cr.DueAt = storeTime(cr.CreatedAt), storeTime(cr.UpdatedAt), storeTime(cr.DueAt)
	return cr
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}
