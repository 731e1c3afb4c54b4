package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrationsComponent is the store's name in koujing_schema_migrations, the table of applied
// migrations it shares with the other components keeping tables in the same database.
const migrationsComponent = "semantic"

// migrations are the store's schema versions, in order: migration i makes version i+1. A
// released migration is never edited; a change is a new one. {p} stands for the tables' prefix
// (the schema, in PostgreSQL) and {id} for an identity column, the two things the dialects
// spell differently. Times are microseconds since 1970 UTC; zero times are NULL.
var migrations = []string{
	`CREATE TABLE {p}koujing_semantic_change_requests (
		id {id},
		title text NOT NULL,
		rationale text NOT NULL,
		author text NOT NULL,
		tenant text NOT NULL,
		status text NOT NULL,
		revision integer NOT NULL,
		approvals_required integer NOT NULL,
		audience text,
		created_at bigint NOT NULL,
		updated_at bigint NOT NULL,
		due_at bigint
	);
	CREATE INDEX koujing_semantic_change_requests_author ON {p}koujing_semantic_change_requests (author, id);
	CREATE INDEX koujing_semantic_change_requests_due ON {p}koujing_semantic_change_requests (due_at);

	CREATE TABLE {p}koujing_semantic_change_request_items (
		change_request bigint NOT NULL REFERENCES {p}koujing_semantic_change_requests (id),
		position integer NOT NULL,
		kind text NOT NULL,
		name text NOT NULL,
		action text NOT NULL,
		version integer NOT NULL,
		base_version integer NOT NULL,
		PRIMARY KEY (change_request, position)
	);
	CREATE INDEX koujing_semantic_change_request_items_name ON {p}koujing_semantic_change_request_items (kind, name);

	-- The request's domains, reviewers and subscribers, each list in its order.
	CREATE TABLE {p}koujing_semantic_change_request_members (
		change_request bigint NOT NULL REFERENCES {p}koujing_semantic_change_requests (id),
		role text NOT NULL,
		position integer NOT NULL,
		value text NOT NULL,
		PRIMARY KEY (change_request, role, position)
	);
	CREATE INDEX koujing_semantic_change_request_members_value ON {p}koujing_semantic_change_request_members (role, value);

	CREATE TABLE {p}koujing_semantic_versions (
		id {id},
		kind text NOT NULL,
		name text NOT NULL,
		number integer NOT NULL,
		status text NOT NULL,
		definition text NOT NULL,
		hash text NOT NULL,
		author text NOT NULL,
		note text NOT NULL,
		created_at bigint NOT NULL,
		change_request bigint REFERENCES {p}koujing_semantic_change_requests (id),
		published_at bigint,
		audience text,
		deprecation text,
		UNIQUE (kind, name, number)
	);
	CREATE INDEX koujing_semantic_versions_change_request ON {p}koujing_semantic_versions (change_request);

	CREATE TABLE {p}koujing_semantic_reviews (
		id {id},
		change_request bigint NOT NULL REFERENCES {p}koujing_semantic_change_requests (id),
		revision integer NOT NULL,
		reviewer text NOT NULL,
		decision text NOT NULL,
		-- A JSON list; NULL for none.
		domains text,
		note text NOT NULL,
		at bigint NOT NULL
	);
	CREATE INDEX koujing_semantic_reviews_change_request ON {p}koujing_semantic_reviews (change_request, id);

	CREATE TABLE {p}koujing_semantic_comments (
		id {id},
		change_request bigint NOT NULL REFERENCES {p}koujing_semantic_change_requests (id),
		parent bigint REFERENCES {p}koujing_semantic_comments (id),
		author text NOT NULL,
		body text NOT NULL,
		at bigint NOT NULL
	);
	CREATE INDEX koujing_semantic_comments_change_request ON {p}koujing_semantic_comments (change_request, id);

	CREATE TABLE {p}koujing_semantic_feedback (
		id {id},
		metric text NOT NULL,
		version integer NOT NULL,
		owner text NOT NULL,
		author text NOT NULL,
		tenant text NOT NULL,
		note text NOT NULL,
		query text NOT NULL,
		resolved boolean NOT NULL,
		at bigint NOT NULL
	);
	CREATE INDEX koujing_semantic_feedback_owner ON {p}koujing_semantic_feedback (owner, id);
	CREATE INDEX koujing_semantic_feedback_metric ON {p}koujing_semantic_feedback (metric, id);

	CREATE TABLE {p}koujing_semantic_events (
		seq {id},
		at bigint NOT NULL,
		tenant text NOT NULL,
		actor text NOT NULL,
		type text NOT NULL,
		object text NOT NULL,
		detail text NOT NULL
	);
	CREATE INDEX koujing_semantic_events_tenant ON {p}koujing_semantic_events (tenant, seq);

	CREATE TABLE {p}koujing_semantic_deliveries (
		id {id},
		event bigint REFERENCES {p}koujing_semantic_events (seq),
		url text NOT NULL,
		payload text NOT NULL,
		attempts integer NOT NULL,
		next_attempt bigint NOT NULL,
		delivered_at bigint,
		last_error text NOT NULL
	);
	CREATE INDEX koujing_semantic_deliveries_due ON {p}koujing_semantic_deliveries (next_attempt) WHERE delivered_at IS NULL;

	-- One row counting the transactions that changed a version: SQLite's Watch polls it
	-- (PostgreSQL's listens for notifications instead).
	CREATE TABLE {p}koujing_semantic_changes (
		id integer PRIMARY KEY CHECK (id = 1),
		counter bigint NOT NULL
	);
	INSERT INTO {p}koujing_semantic_changes (id, counter) VALUES (1, 0);`,

	// 2: the runs of quality rules, and the schedule slots and leases their scheduler shares
	// across replicas.
	`CREATE TABLE {p}koujing_semantic_quality_runs (
		id {id},
		rule text NOT NULL,
		kind text NOT NULL,
		subject text NOT NULL,
		version integer NOT NULL,
		-- A JSON list; NULL for none.
		objects text,
		status text NOT NULL,
		value double precision,
		warn double precision,
		fail double precision,
		detail text NOT NULL,
		query text NOT NULL,
		triggered_by text NOT NULL,
		actor text NOT NULL,
		tenant text NOT NULL,
		started_at bigint NOT NULL,
		-- Microseconds.
		duration bigint NOT NULL
	);
	CREATE INDEX koujing_semantic_quality_runs_rule ON {p}koujing_semantic_quality_runs (rule, id);
	CREATE INDEX koujing_semantic_quality_runs_subject ON {p}koujing_semantic_quality_runs (subject, id);

	-- The last period each schedule claimed, as microseconds since 1970 UTC.
	CREATE TABLE {p}koujing_semantic_schedule_slots (
		name text PRIMARY KEY,
		slot bigint NOT NULL
	);

	CREATE TABLE {p}koujing_semantic_leases (
		name text PRIMARY KEY,
		holder text NOT NULL,
		expires_at bigint NOT NULL
	);`,
}

// migrator is what migrating asks of a dialect.
type migrator interface {
	// prefix qualifies the tables' names ("" or `"schema".`); identity is the DDL of an
	// identity primary key column.
	prefix() string
	identity() string
	// prepareMigration is run first in each migration's transaction: it makes sure the
	// migrations table (and, in PostgreSQL, the schema) exists, holding whatever lock keeps
	// replicas migrating at once from racing to create them. It returns the migrations table's
	// qualified name.
	prepareMigration(ctx context.Context, tx *sql.Tx) (table string, err error)
}

// migrate brings the store's tables to the latest version, trying again when another process
// holds the database (SQLite busy, PostgreSQL serialization failure or deadlock) as Update does.
func (s *SQLStore) migrate(ctx context.Context, db *sql.DB, begin func(context.Context, *sql.DB) (*sql.Tx, error), m migrator) error {
	return s.retrying(ctx, "migrate", func() (bool, error) {
		if err := migrate(ctx, db, begin, m); err != nil {
			return s.d.classify(err) == classRetry, s.errorf("migrate", err)
		}
		return false, nil
	})
}

// migrate brings the tables to the latest version, one transaction a migration.
func migrate(ctx context.Context, db *sql.DB, begin func(context.Context, *sql.DB) (*sql.Tx, error), m migrator) error {
	names := strings.NewReplacer("{p}", m.prefix(), "{id}", m.identity())
	for i, ddl := range migrations {
		version := i + 1
		err := func() error {
			tx, err := begin(ctx, db)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			table, err := m.prepareMigration(ctx, tx)
			if err != nil {
				return err
			}
			var done bool
			err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE component = $1 AND version = $2)`,
				migrationsComponent, version).Scan(&done)
			if err != nil || done {
				return err
			}
			if _, err := tx.ExecContext(ctx, names.Replace(ddl)); err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (component, version) VALUES ($1, $2)`, migrationsComponent, version); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil {
			return err
		}
	}
	return nil
}
