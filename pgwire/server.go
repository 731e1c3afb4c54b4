// Package pgwire serves the semantic layer over the PostgreSQL wire protocol, for BI tools and
// anything else that speaks SQL to PostgreSQL: each business domain is a schema, each data model
// a table whose columns are its dimensions and metrics, and a SELECT over such a table is
// translated into the same metric query GraphQL asks (semantic.MetricQuery), answered by
// semantic.Service as the connection's principal. Queries about the catalog — pg_catalog,
// information_schema, version(), SHOW — are answered from the tables the principal may see, by
// a small SQL evaluator over rows generated in memory, so no database is needed.
package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// DefaultAddr is where the SQL API listens unless told otherwise.
const DefaultAddr = "127.0.0.1:15432"

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("pgwire: server closed")

// Options configure a Server.
type Options struct {
	// Authenticator verifies the password of each connection: a JWT or an API key, or in demo
	// mode user demo with password demo. Required.
	Authenticator *authz.Authenticator
	// TLS, when set, lets clients upgrade a connection to TLS with an SSLRequest; without it the
	// server answers N and the client goes on in plain text or gives up, as it is configured.
	TLS *tls.Config
	// Logger receives the server's logs; nil means slog.Default() with component=pgwire.
	Logger *slog.Logger
	// MaxMessageBytes bounds one message from a client; a larger one is a protocol violation
	// that closes the connection. Zero means 8 MiB.
	MaxMessageBytes int
	// TimeZone is the session time zone connections start with; empty means UTC.
	TimeZone string
	// StartupTimeout bounds the time from accepting a connection to its authentication; zero
	// means 30 seconds.
	StartupTimeout time.Duration
	// MaxLimit is the largest limit the service's queries take (semantic.CompileOptions.MaxLimit);
	// a larger SQL LIMIT is left out, so that the server's row cap applies. Zero means 1,000,000.
	MaxLimit int64
}

// Server answers SQL over the PostgreSQL protocol with a semantic.Service. It is safe for
// concurrent use; Serve may be called with several listeners.
type Server struct {
	svc  *semantic.Service
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]bool
	conns     map[*conn]bool
	byPID     map[uint32]*conn
	closing   bool
	wg        sync.WaitGroup
}

// New returns a server answering with svc.
func New(svc *semantic.Service, opts Options) *Server {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 8 << 20
	}
	if opts.TimeZone == "" {
		opts.TimeZone = "UTC"
	}
	if opts.MaxLimit <= 0 {
		opts.MaxLimit = defaultMaxLimit
	}
	if opts.StartupTimeout <= 0 {
		opts.StartupTimeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default().With("component", "pgwire")
	}
	return &Server{svc: svc, opts: opts, log: log, listeners: map[net.Listener]bool{}, conns: map[*conn]bool{}, byPID: map[uint32]*conn{}}
}

// Serve accepts connections on ln and serves each in its own goroutine until Shutdown or Close,
// then returns ErrServerClosed. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// newConn registers a connection with a process ID and secret key of its own, which its cancel
// requests must present; nil when the server is closing.
func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	c := &conn{srv: s, nc: nc, log: s.log}
	for {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		c.pid = binary.BigEndian.Uint32(b[:4]) & 0x7fffffff
		c.secret = binary.BigEndian.Uint32(b[4:])
		if c.pid != 0 && s.byPID[c.pid] == nil {
			break
		}
	}
	s.conns[c] = true
	s.byPID[c.pid] = c
	s.wg.Add(1)
	return c
}

// forget unregisters a connection that has ended.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.byPID, c.pid)
	s.mu.Unlock()
	s.wg.Done()
}

// cancel cancels the running statement of the connection with that process ID, if the secret
// key matches; a wrong key is ignored, as PostgreSQL does, so keys cannot be probed.
func (s *Server) cancel(pid, secret uint32) {
	s.mu.Lock()
	c := s.byPID[pid]
	s.mu.Unlock()
	if c == nil || c.secret != secret {
		return
	}
	c.cancelStatement()
}

// Shutdown stops accepting connections, closes idle ones, lets running statements finish and
// then closes their connections, and returns when every connection has ended — or, when ctx
// ends first, cancels what still runs, closes everything and returns ctx's error once the
// connections' goroutines are gone.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.Close()
	<-done
	return ctx.Err()
}

// Close closes the listeners and every connection at once, cancelling running statements.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.cancelStatement()
		c.nc.Close()
	}
	s.mu.Unlock()
	return nil
}
