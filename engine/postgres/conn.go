package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/source"
)

// DefaultConnectTimeout bounds establishing one connection when neither the ConnectionConfig nor
// the URL's connect_timeout says otherwise: long enough for a server across a slow network, short
// enough that a query to a server that is down fails while its caller still waits.
const DefaultConnectTimeout = 10 * time.Second

// cancelGrace is how long a cancelled statement may take to stop after the cancel request is
// sent before its connection is closed instead: the server stops within milliseconds, but a
// network that lost the server never answers.
const cancelGrace = 3 * time.Second

// ConnectionConfig says how to reach one PostgreSQL-compatible database.
type ConnectionConfig struct {
	// Name identifies the connection in messages; models name it as their source.
	Name string
	// URL is a libpq URL or keyword/value string: postgres://user:password@host:5432/db?sslmode=require.
	// Its pool_* parameters apply, unless the fields below override them.
	URL string
	// PoolSize is the most connections open at once. Zero keeps the URL's pool_max_conns, or
	// pgxpool's default (the greater of 4 and the number of CPUs).
	PoolSize int32
	// StatementTimeout is the server's statement_timeout in every session: a statement that runs
	// longer is cancelled by PostgreSQL with an error wrapping ErrStatementTimeout. Zero leaves the
	// server's or the URL's setting.
	StatementTimeout time.Duration
	// ConnectTimeout bounds establishing one connection, so that queries fail with
	// source.ErrUnavailable soon when the server is down. Zero means the URL's connect_timeout, or
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// Connection is a named pool of sessions to one PostgreSQL database. Sessions run in the UTC time
// zone, so timestamps without a zone read and compare as UTC, and with the configured
// statement_timeout. A session that breaks is dropped and replaced, so after the server restarts
// queries succeed again without any action. Safe for concurrent use.
type Connection struct {
	name   string
	pool   *pgxpool.Pool
	closed atomic.Bool
}

// Open returns the connection cfg describes. It does not contact the server: a server that is
// down does not stop Koujing from starting; queries on the connection then fail with errors
// wrapping source.ErrUnavailable until it is back (use Ping to check it). Open fails only when cfg
// itself is wrong.
func Open(ctx context.Context, cfg ConnectionConfig) (*Connection, error) {
	if cfg.Name == "" {
		return nil, errors.New("open a PostgreSQL connection: the connection has no name")
	}
	if cfg.PoolSize < 0 || cfg.StatementTimeout < 0 || cfg.ConnectTimeout < 0 {
		return nil, fmt.Errorf("open PostgreSQL connection %q: pool size and timeouts cannot be negative", cfg.Name)
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgconn.ParseConfigError masks the password in its message.
		return nil, fmt.Errorf("open PostgreSQL connection %q: read its URL: %w", cfg.Name, err)
	}
	if cfg.PoolSize > 0 {
		pc.MaxConns = cfg.PoolSize
		pc.MinConns = min(pc.MinConns, pc.MaxConns)
		pc.MinIdleConns = min(pc.MinIdleConns, pc.MaxConns)
	}
	cc := &pc.ConnConfig.Config
	switch {
	case cfg.ConnectTimeout > 0:
		cc.ConnectTimeout = cfg.ConnectTimeout
	case cc.ConnectTimeout == 0:
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	// A connection idle for more than a second is pinged before it is handed out (pgxpool's
	// default), so sessions the server lost while idle are replaced rather than failing a query;
	// the ping must not hang on a network that swallows packets.
	pc.PingTimeout = cc.ConnectTimeout
	pc.HealthCheckPeriod = 30 * time.Second

	// Every session reads timestamps in UTC: the engine's timestamps are instants, and the SQL it
	// sends converts to other zones explicitly.
	cc.RuntimeParams["timezone"] = "UTC"
	if cfg.StatementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(cfg.StatementTimeout.Milliseconds(), 1), 10)
	}
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "koujing"
	}
	// A cancelled context sends the server a cancel request, so the statement stops there too,
	// instead of pgx's default of closing the socket, which leaves the statement running until it
	// next writes. If the server does not stop within cancelGrace, the socket is closed anyway.
	cc.BuildContextWatcherHandler = func(conn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: conn, DeadlineDelay: cancelGrace}
	}

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL connection %q: %w", cfg.Name, err)
	}
	return &Connection{name: cfg.Name, pool: pool}, nil
}

// Name returns the connection's name.
func (c *Connection) Name() string { return c.name }

// Close closes every session. It waits for the operators that hold one to be closed; queries
// started afterwards fail with source.ErrUnavailable.
func (c *Connection) Close() {
	c.closed.Store(true)
	c.pool.Close()
}

// Ping checks that the server can be reached and answers, with an error wrapping
// source.ErrUnavailable if not.
func (c *Connection) Ping(ctx context.Context) error {
	conn, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := conn.Ping(ctx); err != nil {
		return c.errorf("ping", err)
	}
	return nil
}

// acquire takes a session from the pool. Its errors are classified and name the connection.
func (c *Connection) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("PostgreSQL connection %q: %w: the connection is closed", c.name, source.ErrUnavailable)
	}
	conn, err := c.pool.Acquire(ctx)
	if err == nil {
		return conn, nil
	}
	switch {
	case c.closed.Load():
		return nil, fmt.Errorf("PostgreSQL connection %q: %w: the connection is closed", c.name, source.ErrUnavailable)
	case errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The deadline passed while connecting or waiting for a free session: the caller's
		// deadline it is, but the source did not answer in time either.
		return nil, fmt.Errorf("PostgreSQL connection %q: %w: no session became available before the deadline (%w)",
			c.name, source.ErrUnavailable, err)
	}
	return nil, c.errorf("open a session", err)
}

// errorf returns err, classified, as the error of doing what on the connection.
func (c *Connection) errorf(what string, err error) error {
	return fmt.Errorf("PostgreSQL connection %q: %s: %w", c.name, what, classify(err))
}
