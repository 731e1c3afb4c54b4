package webhook

import (
	"context"
	"errors"
	"hash/fnv"
	"os"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresLease is a Lease for the dispatchers of replicas sharing a store in PostgreSQL: a
// session-level advisory lock, held on a connection of its own for as long as the dispatcher
// runs. When the holder dies, or its connection drops, the database releases the lock and the
// next replica to ask takes it.
type PostgresLease struct {
	pool *pgxpool.Pool
	key  int64

	mu   sync.Mutex
	conn *pgxpool.Conn
}

var _ Lease = (*PostgresLease)(nil)

// NewPostgresLease returns the lease of the store in a schema of the database pool connects to:
// stores of different schemas have different leases.
func NewPostgresLease(pool *pgxpool.Pool, schema string) *PostgresLease {
	h := fnv.New64a()
	h.Write([]byte("koujing webhook dispatcher\x00" + schema))
	return &PostgresLease{pool: pool, key: int64(h.Sum64())}
}

// Hold checks that the connection holding the lock is alive, or tries to take the lock on a new
// one; a replica that does not get it gives the connection back.
func (l *PostgresLease) Hold(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if _, err := l.conn.Exec(ctx, "SELECT 1"); err == nil {
			return true, nil
		}
		// The connection dropped, and the lock with it.
		l.conn.Conn().Close(context.Background())
		l.conn.Release()
		l.conn = nil
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&got); err != nil {
		// The lock may have been taken before the answer was lost: the session must end, not
		// go back to the pool holding it.
		conn.Conn().Close(context.Background())
		conn.Release()
		return false, err
	}
	if !got {
		conn.Release()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

// Release unlocks and gives the connection back.
func (l *PostgresLease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	if _, err := l.conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", l.key); err != nil {
		// A connection whose unlock failed must not go back to the pool holding the lock.
		l.conn.Conn().Close(context.Background())
	}
	l.conn.Release()
	l.conn = nil
}

// FileLease is a Lease for the dispatchers of processes sharing a store in one SQLite file: an
// advisory lock on a file beside it, which the system releases when the holder dies.
type FileLease struct {
	path string

	mu   sync.Mutex
	file *os.File
}

var _ Lease = (*FileLease)(nil)

// NewFileLease returns the lease kept in the file at path, created if missing.
func NewFileLease(path string) *FileLease { return &FileLease{path: path} }

// Hold takes the lock if nobody holds it; once taken it is held until Release.
func (l *FileLease) Hold(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		return true, nil
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return false, nil
		}
		return false, err
	}
	l.file = f
	return true, nil
}

// Release unlocks the file.
func (l *FileLease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		unlock(l.file)
		l.file.Close()
		l.file = nil
	}
}

// errLocked is tryLock's answer when another holds the lock.
var errLocked = errors.New("locked by another process")
