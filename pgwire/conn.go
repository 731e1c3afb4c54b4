package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/koujing/koujing/authz"
)

// serverVersion is the PostgreSQL version the SQL API reports; clients such as psql choose the
// catalog queries they send by it, and these are the ones answered.
const serverVersion = "15.0"

// conn is one client connection. Its goroutine reads messages and answers them in order; other
// goroutines only cancel its statement or close it.
type conn struct {
	srv    *Server
	nc     net.Conn
	be     *pgproto3.Backend
	log    *slog.Logger
	pid    uint32
	secret uint32
	types  *pgtype.Map

	who  *authz.Principal
	sess *session

	// mu guards the fields below, which Shutdown and cancel requests read.
	mu         sync.Mutex
	idle       bool
	closeAfter bool
	cancel     context.CancelFunc

	// The transaction status ReadyForQuery reports: in a block (BEGIN), and failed in it.
	inTx, txFailed bool
	// skipToSync is set after an error in the extended protocol: messages are discarded until Sync.
	skipToSync bool
	statements map[string]*prepared
	portals    map[string]*portal
	// rel is the catalog as the principal sees it, laid out from relKey's definitions and policy.
	rel    *relations
	relKey relationsKey
}

// serve runs the connection to its end.
func (c *conn) serve() {
	defer c.srv.forget(c)
	defer c.nc.Close()
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("pgwire connection panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	c.be = pgproto3.NewBackend(c.nc, c.nc)
	c.be.SetMaxBodyLen(c.srv.opts.MaxMessageBytes)
	c.types = pgtype.NewMap()
	c.nc.SetDeadline(time.Now().Add(c.srv.opts.StartupTimeout))
	if !c.startup() {
		return
	}
	c.nc.SetDeadline(time.Time{})
	c.statements = map[string]*prepared{}
	c.portals = map[string]*portal{}
	defer c.closePortals()
	c.loop()
}

// startup answers SSL and cancel requests and authenticates the client. It reports whether the
// connection goes on.
func (c *conn) startup() bool {
	for {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			if !isDisconnect(err) {
				c.fatal(errorf(codeProtocolViolation, "invalid startup packet: %v", err))
			}
			return false
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if c.srv.opts.TLS == nil {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return false
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return false
			}
			tc := tls.Server(c.nc, c.srv.opts.TLS)
			if err := tc.Handshake(); err != nil {
				c.log.Debug("TLS handshake failed", "err", err)
				return false
			}
			c.nc = tc
			c.be = pgproto3.NewBackend(tc, tc)
			c.be.SetMaxBodyLen(c.srv.opts.MaxMessageBytes)
		case *pgproto3.GSSEncRequest:
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return false
			}
		case *pgproto3.CancelRequest:
			if len(m.SecretKey) == 4 {
				c.srv.cancel(m.ProcessID, uint32(m.SecretKey[0])<<24|uint32(m.SecretKey[1])<<16|uint32(m.SecretKey[2])<<8|uint32(m.SecretKey[3]))
			}
			return false
		case *pgproto3.StartupMessage:
			return c.authenticate(m)
		default:
			c.fatal(errorf(codeProtocolViolation, "unexpected startup message %T", msg))
			return false
		}
	}
}

// authenticate asks for a cleartext password — a JWT, an API key, or demo in demo mode — and
// starts the session.
func (c *conn) authenticate(m *pgproto3.StartupMessage) bool {
	params := map[string]string{}
	for k, v := range m.Parameters {
		params[k] = v
	}
	user := params["user"]
	if user == "" {
		c.fatal(errorf(codeInvalidAuthSpec, "no PostgreSQL user name specified in startup packet"))
		return false
	}
	c.be.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := c.be.Flush(); err != nil {
		return false
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return false
	}
	msg, err := c.be.Receive()
	if err != nil {
		return false
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		c.fatal(errorf(codeProtocolViolation, "expected a password message, got %T", msg))
		return false
	}
	token := pw.Password
	if user == "demo" && token == "demo" {
		token = "" // no credentials: the demo principal, when the server runs in demo mode
	}
	who, err := c.srv.opts.Authenticator.AuthenticateToken(token)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "unauthenticated: ")
		if token == "" {
			msg = "this server is not in demo mode; give a JWT or an API key as the password"
		}
		c.fatal(errorf(codeInvalidPassword, "password authentication failed for user %q: %s", user, msg))
		return false
	}
	c.who = who
	c.log = c.log.With("subject", who.Subject, "tenant", who.Tenant, "pid", c.pid)
	c.sess = newSession(user, params, c.srv.opts.TimeZone)
	c.sess.limit = c.srv.opts.MaxLimit
	c.sess.searchPath = nil // set from the catalog the principal sees
	rel, err := c.relations()
	if err != nil {
		e, _ := toSQLError(err)
		e.fatal = true
		c.fatal(e)
		return false
	}
	c.sess.defaultSearchPath(rel)
	c.be.Send(&pgproto3.AuthenticationOk{})
	for _, name := range reportedSettings {
		c.be.Send(&pgproto3.ParameterStatus{Name: name, Value: c.sess.show(name)})
	}
	c.be.Send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: []byte{byte(c.secret >> 24), byte(c.secret >> 16), byte(c.secret >> 8), byte(c.secret)}})
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return c.be.Flush() == nil
}

// reportedSettings are the settings sent to the client at startup, as PostgreSQL sends them.
var reportedSettings = []string{"server_version", "server_encoding", "client_encoding", "application_name", "DateStyle",
	"IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings", "is_superuser", "session_authorization"}

// fatal sends a FATAL error; the connection then ends.
func (c *conn) fatal(e *sqlError) {
	e.fatal = true
	c.be.Send(e.response())
	c.be.Flush()
}

func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// loop reads and answers messages until the client terminates or goes away.
func (c *conn) loop() {
	for {
		if !c.setIdle(true) {
			c.fatal(errorf(codeAdminShutdown, "terminating connection due to administrator command"))
			return
		}
		msg, err := c.be.Receive()
		c.setIdle(false)
		if err != nil {
			if !isDisconnect(err) && !c.srv.isClosing() {
				c.fatal(errorf(codeProtocolViolation, "invalid message: %v", err))
			}
			return
		}
		if c.skipToSync {
			if _, ok := msg.(*pgproto3.Sync); !ok {
				if _, ok := msg.(*pgproto3.Terminate); ok {
					return
				}
				continue
			}
		}
		var done bool
		switch m := msg.(type) {
		case *pgproto3.Query:
			c.simpleQuery(m.String)
			c.readyForQuery()
		case *pgproto3.Parse:
			c.extended(c.parse(m))
		case *pgproto3.Bind:
			c.extended(c.bind(m))
		case *pgproto3.Describe:
			c.extended(c.describe(m))
		case *pgproto3.Execute:
			c.extended(c.execute(m))
		case *pgproto3.Close:
			c.extended(c.closeObject(m))
		case *pgproto3.Sync:
			c.skipToSync = false
			if !c.inTx {
				delete(c.portals, "")
			}
			c.readyForQuery()
		case *pgproto3.Flush:
			done = c.be.Flush() != nil
		case *pgproto3.Terminate:
			return
		default:
			c.fatal(errorf(codeProtocolViolation, "unsupported message %T; the SQL API speaks the simple and extended query protocols", msg))
			return
		}
		if done {
			return
		}
	}
}

// setIdle marks the connection idle (waiting for a message) or busy, and reports, when it goes
// idle, whether it may go on: false once the server shuts down.
func (c *conn) setIdle(idle bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = idle
	return !(idle && c.closeAfter)
}

// shutdown closes the connection if it is idle, or once its statement ends.
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeAfter = true
	if c.idle {
		c.nc.Close()
	}
}

// cancelStatement cancels the statement running, if any.
func (c *conn) cancelStatement() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// statementContext returns the context a statement runs under, which a cancel request ends;
// release unregisters it.
func (c *conn) statementContext() (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancel(context.Background())
	if d := c.sess.statementTimeout; d > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, d)
		inner := cancel
		cancel = func() { cancelTimeout(); inner() }
	}
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.cancel = nil
		c.mu.Unlock()
		cancel()
	}
}

// extended finishes an extended-protocol message: an error is sent, and what follows up to Sync
// is skipped.
func (c *conn) extended(err error) {
	if err == nil {
		return
	}
	c.sendError(err)
	c.skipToSync = true
}

// sendError sends an error, logging those the client did not cause, and fails the transaction.
func (c *conn) sendError(err error) {
	e, internal := toSQLError(err)
	if internal {
		c.log.Error("SQL statement failed", "err", err)
	} else {
		// At debug level the server logs every statement and every error it answers, which is
		// how to see what a BI tool sends and what of it the SQL API refuses.
		c.log.Debug("statement refused", "code", e.code, "message", e.msg)
	}
	if c.inTx {
		c.txFailed = true
	}
	c.be.Send(e.response())
}

func (c *conn) readyForQuery() {
	status := byte('I')
	switch {
	case c.inTx && c.txFailed:
		status = 'E'
	case c.inTx:
		status = 'T'
	}
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: status})
	c.be.Flush()
}

func (c *conn) closePortals() {
	for name, p := range c.portals {
		p.close()
		delete(c.portals, name)
	}
}
