package store

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgresChannel is the channel a store in PostgreSQL notifies when a transaction that changed
// a version commits. The payload is the notifying store's ID and its schema.
const PostgresChannel = "koujing_semantic"

// Watch's reconnection waits start at watchMinBackoff and double up to watchMaxBackoff.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 10 * time.Second
)

// PostgresOptions configure a store in PostgreSQL.
type PostgresOptions struct {
	// Schema is the schema holding the store's tables, created if it does not exist; default
	// "public". Stores of different schemas are independent, also for Watch.
	Schema string
}

// OpenPostgres opens the store in the database pool connects to, creating or upgrading its
// tables first. The store uses pool but does not own it: close the pool after the store.
// Replicas opening the store at once are safe: each migration runs in a transaction under the
// advisory lock that every Koujing component takes to migrate the schema.
//
// Updates are SERIALIZABLE transactions, so that two replicas publishing versions of one name
// at once cannot both make theirs the current one: one of them fails to serialize, and is run
// again from the start, seeing the other's. Events are appended under a transaction-scoped
// advisory lock, so they commit in the order of their Seq and a reader paging with AfterSeq
// misses none. A transaction that changed a version notifies PostgresChannel as it commits;
// the other replicas' Watch hears it. A lost connection is reported wrapping ErrUnavailable;
// when it breaks the commit itself, PostgreSQL may have committed, and reading tells.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, opts PostgresOptions) (*SQLStore, error) {
	if opts.Schema == "" {
		opts.Schema = "public"
	}
	var id [8]byte
	if _, err := crand.Read(id[:]); err != nil {
		return nil, err
	}
	d := &postgresDialect{pool: pool, schema: opts.Schema, id: hex.EncodeToString(id[:])}
	d.db = stdlib.OpenDBFromPool(pool)
	s := newSQLStore(d, d.db, d.db, d.prefix())
	// Migrations read committed: each statement sees what replicas that held the migration lock
	// before committed.
	readCommitted := func(ctx context.Context, db *sql.DB) (*sql.Tx, error) { return db.BeginTx(ctx, nil) }
	if err := s.migrate(ctx, d.db, readCommitted, d); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// postgresDialect is PostgreSQL's part of a SQLStore.
type postgresDialect struct {
	pool   *pgxpool.Pool
	db     *sql.DB
	schema string
	// id tells this store's notifications from other stores'.
	id string
}

func (d *postgresDialect) where() string { return "PostgreSQL schema " + d.schema }

func (d *postgresDialect) beginUpdate(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
}

func (d *postgresDialect) beginView(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}

func (d *postgresDialect) lockEvents(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "koujing_semantic_events "+d.schema)
	return err
}

// announce notifies PostgresChannel; PostgreSQL delivers the notification if the transaction
// commits.
func (d *postgresDialect) announce(ctx context.Context, tx *sql.Tx) (func(), error) {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, PostgresChannel, d.id+" "+d.schema)
	return nil, err
}

// watch listens on PostgresChannel on a connection of its own (made with the pool's settings,
// not taken from it), and calls changed when another store of the schema announces a change.
// When the connection is lost it reconnects, waiting longer after each failure up to 10s, and
// calls changed once it listens again, since notifications sent meanwhile are lost. If it
// cannot connect at first, it returns all the same and keeps trying, calling changed when it
// first listens.
func (d *postgresDialect) watch(ctx context.Context, changed func()) (func(), error) {
	conn, err := d.listen(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	return func() {
		backoff := watchMinBackoff
		for {
			for conn == nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff/2 + rand.N(backoff/2)):
				}
				backoff = min(2*backoff, watchMaxBackoff)
				if conn, _ = d.listen(ctx); conn != nil {
					backoff = watchMinBackoff
					changed()
				}
			}
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				if ctx.Err() != nil {
					return
				}
				continue
			}
			if id, schema, _ := strings.Cut(n.Payload, " "); schema == d.schema && id != d.id {
				changed()
			}
		}
	}, nil
}

// listen opens a connection with the pool's settings and listens on PostgresChannel.
func (d *postgresDialect) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := d.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "koujing semantic watch " + d.id
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

// classify tells a serialization failure or deadlock (retry), a unique or foreign key
// violation, and a lost or refused connection: none could be made, the server ended the session
// (SQLSTATE class 08, 57P01-57P03, too many connections, any FATAL error), or the network
// failed.
func (d *postgresDialect) classify(err error) errClass {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return classOther
	}
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "40001" || code == "40P01":
			return classRetry
		case code == "23505":
			return classUnique
		case code == "23503":
			return classForeignKey
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "57P"), code == "53300",
			pgErr.Severity == "FATAL", pgErr.Severity == "PANIC":
			return classUnavailable
		}
		return classOther
	}
	if connectErr := (*pgconn.ConnectError)(nil); errors.As(err, &connectErr) {
		return classUnavailable
	}
	if netErr := net.Error(nil); errors.As(err, &netErr) {
		return classUnavailable
	}
	for _, lost := range []error{pgconn.ErrConnClosed, io.EOF, io.ErrUnexpectedEOF, sql.ErrConnDone} {
		if errors.Is(err, lost) {
			return classUnavailable
		}
	}
	return classOther
}

func (d *postgresDialect) close() error { return d.db.Close() }

// The parts of migrating a PostgreSQL schema.

func (d *postgresDialect) prefix() string { return pgx.Identifier{d.schema}.Sanitize() + "." }

func (d *postgresDialect) identity() string {
	return "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
}

// prepareMigration takes the lock every component takes to migrate the schema (authz's store
// takes the same, on the same key), so that the schema and the shared migrations table are
// created once even when replicas and components start together, and creates them.
func (d *postgresDialect) prepareMigration(ctx context.Context, tx *sql.Tx) (string, error) {
	table := pgx.Identifier{d.schema, "koujing_schema_migrations"}.Sanitize()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "koujing_schema_migrations "+d.schema); err != nil {
		return "", err
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, d.schema).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+pgx.Identifier{d.schema}.Sanitize()); err != nil {
			return "", err
		}
	}
	_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		component text NOT NULL,
		version integer NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (component, version))`)
	return table, err
}
