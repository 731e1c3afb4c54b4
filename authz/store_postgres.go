package authz

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresChannel is the channel a PostgresStore notifies, in the transaction of every change,
// so that other replicas reload. The payload names the store and the schema that changed.
const PostgresChannel = "koujing_authz"

// postgresComponent is the store's name in koujing_schema_migrations.
const postgresComponent = "authz"

// Watch's reconnection waits start at watchMinBackoff and double up to watchMaxBackoff.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 10 * time.Second
)

// PostgresStoreOptions configure a PostgresStore.
type PostgresStoreOptions struct {
	// Schema is the schema holding the store's tables, created if it does not exist; default
	// "public". Stores of different schemas are independent, also for Watch.
	Schema string
}

// PostgresStore is the Store that replicas share: the rules, API keys and audit log in
// tables of one PostgreSQL schema (koujing_authz_rules, koujing_authz_api_keys,
// koujing_authz_audit), created and upgraded by versioned migrations when the store is opened.
//
// Each Apply is one transaction holding the change, its audit record and a notification on
// PostgresChannel, which PostgreSQL delivers to the other replicas' Watch only if it commits.
// Changes to a schema are serialised (a transaction-scoped advisory lock), so audit sequence
// numbers are committed in order and a reader paging with AfterSeq misses none. A connection
// failure is reported wrapping ErrStoreUnavailable; when it breaks the commit itself, PostgreSQL
// may have committed, and a Load tells.
//
// It is safe for concurrent use, by any number of processes.
type PostgresStore struct {
	pool   *pgxpool.Pool
	schema string
	// id tells this store's notifications from other stores'.
	id string
	// The tables' qualified, quoted names.
	rules, keys, audit string

	// mu guards closed, so that no watcher starts after Close.
	mu           sync.Mutex
	closed       bool
	stopWatching context.CancelFunc
	watchersCtx  context.Context
	watchers     sync.WaitGroup
}

var _ Store = (*PostgresStore)(nil)

// OpenPostgresStore opens the store in the database pool connects to, creating or upgrading its
// tables first. The store uses pool but does not own it: close the pool after the store. Two
// replicas opening the store at once are safe: each migration runs in a transaction under an
// advisory lock, and is recorded in the schema's koujing_schema_migrations table.
func OpenPostgresStore(ctx context.Context, pool *pgxpool.Pool, opts PostgresStoreOptions) (*PostgresStore, error) {
	if opts.Schema == "" {
		opts.Schema = "public"
	}
	var id [8]byte
	if _, err := crand.Read(id[:]); err != nil {
		return nil, err
	}
	s := &PostgresStore{
		pool:   pool,
		schema: opts.Schema,
		id:     hex.EncodeToString(id[:]),
		rules:  pgx.Identifier{opts.Schema, "koujing_authz_rules"}.Sanitize(),
		keys:   pgx.Identifier{opts.Schema, "koujing_authz_api_keys"}.Sanitize(),
		audit:  pgx.Identifier{opts.Schema, "koujing_authz_audit"}.Sanitize(),
	}
	s.watchersCtx, s.stopWatching = context.WithCancel(context.Background())
	if err := s.migrate(ctx); err != nil {
		return nil, s.errorf("migrate the schema "+opts.Schema, err)
	}
	return s, nil
}

// migrations are the store's schema versions, in order: migration i makes version i+1. A
// released migration is never edited; a change is a new one. {rules}, {keys} and {audit} stand
// for the tables' names.
var migrations = []string{
	`CREATE TABLE {rules} (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		kind text NOT NULL,
		tenant text NOT NULL,
		subject text NOT NULL,
		role text NOT NULL,
		object text NOT NULL,
		action text NOT NULL,
		effect text NOT NULL,
		priority integer NOT NULL,
		value text NOT NULL,
		UNIQUE (kind, tenant, subject, role, object, action, effect, priority, value)
	);
	CREATE TABLE {keys} (
		id text PRIMARY KEY,
		tenant text NOT NULL,
		name text NOT NULL,
		roles text[] NOT NULL,
		hash bytea NOT NULL,
		created_at timestamptz NOT NULL,
		created_by text NOT NULL,
		revoked_at timestamptz
	);
	CREATE TABLE {audit} (
		seq bigserial PRIMARY KEY,
		at timestamptz NOT NULL,
		tenant text NOT NULL,
		actor text NOT NULL,
		op text NOT NULL,
		detail text NOT NULL
	);
	CREATE INDEX ON {audit} (tenant, seq);`,
}

// migrate brings the schema to the latest version, one transaction a migration.
func (s *PostgresStore) migrate(ctx context.Context) error {
	schema := pgx.Identifier{s.schema}.Sanitize()
	table := pgx.Identifier{s.schema, "koujing_schema_migrations"}.Sanitize()
	names := strings.NewReplacer("{rules}", s.rules, "{keys}", s.keys, "{audit}", s.audit)
	for i, m := range migrations {
		version := i + 1
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// Every component migrating this schema takes the same lock, so the shared table and
			// the schema are created once even when replicas start together.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "koujing_schema_migrations "+s.schema); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
				component text NOT NULL,
				version integer NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (component, version))`)
			if err != nil {
				return err
			}
			var done bool
			err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+table+` WHERE component = $1 AND version = $2)`,
				postgresComponent, version).Scan(&done)
			if err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, names.Replace(m)); err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO `+table+` (component, version) VALUES ($1, $2)`, postgresComponent, version)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Load returns every tenant's rules, in the order they were added, and API keys, read in one
// snapshot.
func (s *PostgresStore) Load(ctx context.Context) (*State, error) {
	st := &State{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind, tenant, subject, role, object, action, effect, priority, value FROM `+s.rules+` ORDER BY id`)
		if err != nil {
			return err
		}
		st.Rules, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Rule, error) {
			var r Rule
			err := row.Scan(&r.Kind, &r.Tenant, &r.Subject, &r.Role, &r.Object, &r.Action, &r.Effect, &r.Priority, &r.Value)
			return r, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, tenant, name, roles, hash, created_at, created_by, revoked_at FROM `+s.keys+` ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		st.Keys, err = pgx.CollectRows(rows, scanAPIKey)
		return err
	})
	if err != nil {
		return nil, s.errorf("load", err)
	}
	return st, nil
}

func scanAPIKey(row pgx.CollectableRow) (APIKey, error) {
	var k APIKey
	var revoked *time.Time
	err := row.Scan(&k.ID, &k.Tenant, &k.Name, &k.Roles, &k.Hash, &k.CreatedAt, &k.CreatedBy, &revoked)
	k.CreatedAt = k.CreatedAt.UTC()
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	return k, err
}

// Apply makes the change, appends its audit record and notifies PostgresChannel, in one
// transaction.
func (s *PostgresStore) Apply(ctx context.Context, c Change) (AuditRecord, error) {
	c, err := prepareChange(c, time.Now())
	if err != nil {
		return AuditRecord{}, err
	}
	var rec AuditRecord
	err = s.changeInTx(ctx, func(tx pgx.Tx) (bool, error) {
		var err error
		rec, err = s.applyAudited(ctx, tx, &c)
		return err == nil, err
	})
	if err != nil {
		return AuditRecord{}, s.errorf(string(c.Op), err)
	}
	return rec, nil
}

// Seed applies changes, in order and in one transaction, if the store has never held anything:
// no rules, no API keys and no audit records. It reports whether it did. Replicas that start
// together on a new store may all call it: the transaction holds the lock every change takes, so
// the first seeds and the others find the store in use and leave it. A store whose rules were
// all removed is not seeded again, since its audit log says someone emptied it on purpose. Each
// change is audited as Apply audits it; the changes fail together, with Apply's errors.
func (s *PostgresStore) Seed(ctx context.Context, changes []Change) (bool, error) {
	now := time.Now()
	prepared := make([]Change, len(changes))
	for i, c := range changes {
		var err error
		if prepared[i], err = prepareChange(c, now); err != nil {
			return false, err
		}
	}
	var seeded bool
	err := s.changeInTx(ctx, func(tx pgx.Tx) (bool, error) {
		var used bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+s.rules+`) OR EXISTS (SELECT FROM `+s.keys+`) OR EXISTS (SELECT FROM `+s.audit+`)`).Scan(&used)
		if err != nil || used {
			return false, err
		}
		for i := range prepared {
			if _, err := s.applyAudited(ctx, tx, &prepared[i]); err != nil {
				return false, err
			}
		}
		seeded = true
		return true, nil
	})
	if err != nil {
		return false, s.errorf("seed", err)
	}
	return seeded, nil
}

// changeInTx runs change in a transaction that holds the schema's change lock, and notifies the
// other replicas, when it commits, if change says it changed anything.
func (s *PostgresStore) changeInTx(ctx context.Context, change func(pgx.Tx) (changed bool, err error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "koujing_authz_apply "+s.schema); err != nil {
			return err
		}
		changed, err := change(tx)
		if err != nil || !changed {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, PostgresChannel, s.id+" "+s.schema)
		return err
	})
}

// applyAudited makes a prepared change in tx and appends its audit record, which it returns.
func (s *PostgresStore) applyAudited(ctx context.Context, tx pgx.Tx, c *Change) (AuditRecord, error) {
	if err := s.applyInTx(ctx, tx, c); err != nil {
		return AuditRecord{}, err
	}
	rec := auditOf(*c)
	err := tx.QueryRow(ctx, `INSERT INTO `+s.audit+` (at, tenant, actor, op, detail) VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
		rec.At, rec.Tenant, rec.Actor, rec.Op, rec.Detail).Scan(&rec.Seq)
	return rec, err
}

// applyInTx makes a prepared change in tx; a revoke's Key becomes the whole revoked key.
func (s *PostgresStore) applyInTx(ctx context.Context, tx pgx.Tx, c *Change) error {
	r, k := c.Rule, c.Key
	switch c.Op {
	case AddRule, RemoveRule:
		query := `INSERT INTO ` + s.rules + ` (kind, tenant, subject, role, object, action, effect, priority, value)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`
		missing := ErrRuleExists
		if c.Op == RemoveRule {
			query = `DELETE FROM ` + s.rules + ` WHERE (kind, tenant, subject, role, object, action, effect, priority, value)
				= ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
			missing = ErrRuleNotFound
		}
		tag, err := tx.Exec(ctx, query, r.Kind, r.Tenant, r.Subject, r.Role, r.Object, r.Action, r.Effect, r.Priority, r.Value)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("%w: %s", missing, r)
		}
		return err
	case CreateAPIKey:
		if k.Roles == nil {
			k.Roles = []string{} // the column is NOT NULL
		}
		tag, err := tx.Exec(ctx, `INSERT INTO `+s.keys+` (id, tenant, name, roles, hash, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			k.ID, k.Tenant, k.Name, k.Roles, k.Hash, k.CreatedAt, k.CreatedBy)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("%w: %s", ErrKeyExists, k.ID)
		}
		return err
	case RevokeAPIKey:
		rows, err := tx.Query(ctx, `UPDATE `+s.keys+` SET revoked_at = $3 WHERE tenant = $1 AND id = $2 AND revoked_at IS NULL
			RETURNING id, tenant, name, roles, hash, created_at, created_by, revoked_at`, k.Tenant, k.ID, k.RevokedAt)
		if err != nil {
			return err
		}
		c.Key, err = pgx.CollectExactlyOneRow(rows, scanAPIKey)
		if errors.Is(err, pgx.ErrNoRows) {
			err = keyNotFound(k)
		}
		return err
	}
	return nil
}

// Audit returns the tenant's audit records after q.AfterSeq, oldest first.
func (s *PostgresStore) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	limit, err := auditLimit(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, at, tenant, actor, op, detail FROM `+s.audit+`
		WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3`, q.Tenant, q.AfterSeq, limit)
	if err != nil {
		return nil, s.errorf("read the audit log", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditRecord, error) {
		var r AuditRecord
		err := row.Scan(&r.Seq, &r.At, &r.Tenant, &r.Actor, &r.Op, &r.Detail)
		r.At = r.At.UTC()
		return r, err
	})
	if err != nil {
		return nil, s.errorf("read the audit log", err)
	}
	return recs, nil
}

// Watch listens on PostgresChannel on a connection of its own (made with the pool's settings,
// not taken from it) and calls changed when another store changed this schema. When the
// connection is lost it reconnects, waiting longer after each failure up to 10s, and calls
// changed once it listens again, since notifications sent meanwhile are lost. It returns once it
// listens, or at once if it cannot connect yet (then it keeps trying, and calls changed when it
// first succeeds); the calls stop when ctx ends or the store is closed.
func (s *PostgresStore) Watch(ctx context.Context, changed func()) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%w: the policy store is closed", ErrStoreUnavailable)
	}
	s.watchers.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.watchersCtx, cancel)
	conn, err := s.listen(ctx)
	if err != nil && ctx.Err() != nil {
		stop()
		cancel()
		s.watchers.Done()
		return err
	}
	go func() {
		defer s.watchers.Done()
		defer stop()
		defer cancel()
		s.watch(ctx, conn, changed)
	}()
	return nil
}

// watch waits for notifications on conn, reconnecting when it is lost (or nil), until ctx ends.
func (s *PostgresStore) watch(ctx context.Context, conn *pgx.Conn, changed func()) {
	backoff := watchMinBackoff
	for {
		for conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff/2 + rand.N(backoff/2)):
			}
			backoff = min(2*backoff, watchMaxBackoff)
			var err error
			if conn, err = s.listen(ctx); err == nil {
				backoff = watchMinBackoff
				changed()
			}
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			conn.Close(context.Background())
			conn = nil
			continue
		}
		id, schema, _ := strings.Cut(n.Payload, " ")
		if schema == s.schema && id != s.id {
			changed()
		}
	}
}

// listen opens a connection with the pool's settings and listens on PostgresChannel.
func (s *PostgresStore) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "koujing authz watch " + s.id
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+PostgresChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// Close stops the store's watchers and waits for them. It does not close the pool.
func (s *PostgresStore) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopWatching()
	s.watchers.Wait()
	return nil
}

// errorf returns err, from doing what, as a store error: a connection failure wrapped in
// ErrStoreUnavailable; the store's own errors (ErrRuleExists …), cancellations and other errors
// of the server as they are.
func (s *PostgresStore) errorf(what string, err error) error {
	if connectionFailed(err) {
		return fmt.Errorf("policy store in PostgreSQL schema %s: %s: %w: %w", s.schema, what, ErrStoreUnavailable, err)
	}
	return fmt.Errorf("policy store in PostgreSQL schema %s: %s: %w", s.schema, what, err)
}

// connectionFailed reports whether err says the database could not be reached or the session was
// lost, rather than that the server refused the statement: no connection could be made, the
// server ended the session (SQLSTATE class 08, 57P01-57P03, too many connections, any FATAL
// error), or the network failed.
func connectionFailed(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "53300" ||
			pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC"
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
