package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteWatchInterval is how often the Watch of a store in a SQLite file looks for other
// processes' changes.
const SQLiteWatchInterval = 500 * time.Millisecond

// sqliteBusyTimeout is how long a statement waits for another connection's lock before SQLite
// reports it busy (and Update retries).
const sqliteBusyTimeout = 5 * time.Second

// OpenSQLite opens the store in the SQLite file at path, creating it if it does not exist and
// bringing its tables to the latest version. A path of "" or ":memory:" gives a store in memory,
// which lives until it is closed; no other store sees it.
//
// We use modernc.org/sqlite: SQLite itself, translated to Go, so the binary needs no cgo and
// no C library, and it follows SQLite's releases closely.
//
// The file is in WAL mode with synchronous=FULL: a commit is durable once Update returns (the
// log is synced at every commit), a process killed at any instant leaves every transaction
// committed whole or not at all (SQLite replays the log's committed frames when the file is
// opened next), and readers — Views, the catalog being listed — go on while a writer writes
// instead of waiting for it, as they would with a rollback journal. WAL needs the processes
// sharing a file to be on one machine (it shares memory through path+"-shm"); a network file
// system is not supported. Foreign keys are enforced.
//
// Several goroutines may use the store at once: Updates take turns on its one writing
// connection, and Views and queries read on connections of their own. Several processes may
// open the same file: one writes at a time, the others wait for its lock (up to 5s, then
// Update tries again a few times before ErrConflict). A store learns of the other processes'
// changes to versions by looking at a counter its Updates bump every SQLiteWatchInterval (see
// Watch).
func OpenSQLite(ctx context.Context, path string) (*SQLStore, error) {
	d := &sqliteDialect{mine: map[int64]bool{}}
	var name string
	memory := path == "" || path == ":memory:"
	if memory {
		// The memdb VFS shares one database among the connections that name it, in this
		// process, with the same locking as a file; every connection to ":memory:" would be
		// a database of its own.
		var b [8]byte
		rand.Read(b[:])
		d.path = ":memory:"
		name = "file:/koujing-semantic-" + hex.EncodeToString(b[:])
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("metadata store in SQLite file %s: %w: %w", path, ErrUnavailable, err)
		}
		d.path = abs
		name = (&url.URL{Scheme: "file", Path: abs}).String()
	}
	params := func() url.Values {
		v := url.Values{"_pragma": {fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()), "foreign_keys(1)", "temp_store(MEMORY)"}}
		if memory {
			v.Set("vfs", "memdb")
		}
		return v
	}
	writeParams := params()
	writeParams.Add("_pragma", "synchronous(FULL)")
	if !memory {
		writeParams.Add("_pragma", "journal_mode(WAL)") // set by the writer, which opens first; it stays with the file
	}
	writeParams.Set("_txlock", "immediate")
	readParams := params()
	readParams.Set("_query_only", "1")
	writeDSN, readDSN := name+"?"+writeParams.Encode(), name+"?"+readParams.Encode()
	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("metadata store in SQLite file %s: %w: %w", d.path, ErrUnavailable, err)
	}
	// One writing connection, kept open: Updates queue for it in Go, and a store in memory
	// lives as long as a connection to it does.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("metadata store in SQLite file %s: %w: %w", d.path, ErrUnavailable, err)
	}
	read.SetMaxIdleConns(4)
	d.write, d.read = write, read
	s := newSQLStore(d, write, read, "")
	d.changes = s.changes
	if err := s.migrate(ctx, write, d.beginUpdate, d); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDialect is SQLite's part of a SQLStore.
type sqliteDialect struct {
	path        string
	write, read *sql.DB
	changes     string

	// mine holds the values this store gave the change counter, so that Watch tells its own
	// changes from others'; pruned as it grows.
	mu   sync.Mutex
	mine map[int64]bool
}

func (d *sqliteDialect) where() string { return "SQLite file " + d.path }

func (d *sqliteDialect) beginUpdate(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, nil) // BEGIN IMMEDIATE, by the writer's _txlock
}

func (d *sqliteDialect) beginView(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// lockEvents does nothing: SQLite has one writer at a time.
func (d *sqliteDialect) lockEvents(context.Context, *sql.Tx) error { return nil }

// announce bumps the change counter, remembering the value as this store's own.
func (d *sqliteDialect) announce(ctx context.Context, tx *sql.Tx) (func(), error) {
	var counter int64
	err := tx.QueryRowContext(ctx, "UPDATE "+d.changes+" SET counter = counter + 1 WHERE id = 1 RETURNING counter").Scan(&counter)
	if err != nil {
		return nil, err
	}
	const remembered = 1024
	d.mu.Lock()
	d.mine[counter] = true
	if len(d.mine) > remembered {
		for v := range d.mine {
			if v <= counter-remembered {
				delete(d.mine, v)
			}
		}
	}
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		delete(d.mine, counter)
		d.mu.Unlock()
	}, nil
}

func (d *sqliteDialect) counter(ctx context.Context) (int64, error) {
	var n int64
	err := d.read.QueryRowContext(ctx, "SELECT counter FROM "+d.changes+" WHERE id = 1").Scan(&n)
	return n, err
}

// watch reads the change counter every SQLiteWatchInterval, and calls changed when it has
// taken a value this store did not give it. A counter it cannot read (the file is gone or
// locked too long) is read again at the next tick.
func (d *sqliteDialect) watch(ctx context.Context, changed func()) (func(), error) {
	seen, err := d.counter(ctx)
	if err != nil {
		return nil, err
	}
	return func() {
		tick := time.NewTicker(SQLiteWatchInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now, err := d.counter(ctx)
			if err != nil || now == seen {
				continue
			}
			d.mu.Lock()
			others := false
			for v := seen + 1; v <= now && !others; v++ {
				others = !d.mine[v]
			}
			d.mu.Unlock()
			seen = now
			if others {
				changed()
			}
		}
	}, nil
}

func (d *sqliteDialect) classify(err error) errClass {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return classOther
	}
	switch code := e.Code(); code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return classRetry
	case sqlite3.SQLITE_CONSTRAINT:
		switch code {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return classUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return classForeignKey
		}
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_PERM, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOLFS:
		return classUnavailable
	}
	return classOther
}

func (d *sqliteDialect) close() error {
	return errors.Join(d.read.Close(), d.write.Close())
}

// The parts of migrating a SQLite file.

func (d *sqliteDialect) prefix() string   { return "" }
func (d *sqliteDialect) identity() string { return "INTEGER PRIMARY KEY AUTOINCREMENT" }

// prepareMigration creates the migrations table; the transaction, BEGIN IMMEDIATE, holds the
// file's write lock, so two processes do not migrate at once.
func (d *sqliteDialect) prepareMigration(ctx context.Context, tx *sql.Tx) (string, error) {
	_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS koujing_schema_migrations (
		component text NOT NULL,
		version integer NOT NULL,
		applied_at text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
		PRIMARY KEY (component, version))`)
	return "koujing_schema_migrations", err
}
