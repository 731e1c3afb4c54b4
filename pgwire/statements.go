package pgwire

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// prepared is a parsed statement: named by Parse, or the statement of a simple query.
type prepared struct {
	sql        string
	raw        *pg.RawStmt // nil for an empty statement
	paramTypes []uint32    // as the client declared them in Parse; 0 for unspecified
}

// field is one column of a statement's result.
type field struct {
	name   string
	oid    uint32
	typmod int32
	table  uint32
	attnum int16
}

// rowIter yields a result's rows, each value encoded in the format asked for (0 text, 1
// binary), nil for NULL. It is used by one goroutine; close releases what it holds.
type rowIter interface {
	next(formats []int16) ([][]byte, bool, error)
	close()
}

// planned is a statement ready to run with its parameters: the columns it returns and how to
// run it. Planning has no effect; run has the statement's effects.
type planned struct {
	fields     []field
	paramTypes []uint32
	// run starts the statement and returns its rows (nil for a command) and its command tag
	// (for a query, the tag's verb, completed with the row count).
	run func(ctx context.Context) (rowIter, string, error)
}

// portal is a bound statement, ready to execute or executing.
type portal struct {
	plan    *planned
	formats []int16
	rows    rowIter
	tag     string
	sent    int64
	started bool
	done    bool
}

func (p *portal) close() {
	if p.rows != nil {
		p.rows.close()
		p.rows = nil
	}
}

// parseSQL parses SQL text with PostgreSQL's own grammar; a syntax error carries its position.
func parseSQL(sql string) ([]*pg.RawStmt, error) {
	tree, err := pg.Parse(sql)
	if err != nil {
		if pe, ok := err.(*parser.Error); ok {
			e := errorf(codeSyntaxError, "%s", pe.Message)
			if pe.Cursorpos > 0 {
				e.pos = int32(len([]rune(sql[:min(pe.Cursorpos-1, len(sql))]))) + 1
			}
			return nil, e
		}
		return nil, errorf(codeSyntaxError, "%v", err)
	}
	return tree.Stmts, nil
}

// simpleQuery runs the statements of a Query message in order, stopping at the first error.
func (c *conn) simpleQuery(sql string) {
	stmts, err := parseSQL(sql)
	if err != nil {
		c.sendError(err)
		return
	}
	if len(stmts) == 0 {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for _, raw := range stmts {
		text := statementText(sql, raw)
		c.log.Debug("statement", "sql", text)
		pl, err := c.plan(&prepared{sql: text, raw: raw}, &params{})
		if err == nil {
			formats := make([]int16, len(pl.fields))
			if pl.fields != nil {
				c.be.Send(rowDescription(pl.fields, formats))
			}
			p := &portal{plan: pl, formats: formats}
			err = c.runPortal(p, 0)
			p.close()
		}
		if err != nil {
			c.sendError(err)
			return
		}
	}
}

// statementText returns the text of one statement of a multi-statement string.
func statementText(sql string, raw *pg.RawStmt) string {
	start := int(raw.StmtLocation)
	end := len(sql)
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	if start < 0 || start > len(sql) || end > len(sql) || start > end {
		return sql
	}
	return sql[start:end]
}

// runPortal executes a portal, sending up to maxRows rows (0: all); it ends with
// CommandComplete, or PortalSuspended when rows remain.
func (c *conn) runPortal(p *portal, maxRows int64) error {
	if p.done {
		c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
		return nil
	}
	if !p.started {
		p.started = true
		ctx, release := c.statementContext()
		rows, tag, err := p.plan.run(ctx)
		release()
		if err != nil {
			p.done = true
			return err
		}
		p.rows, p.tag = rows, tag
	}
	if p.rows == nil {
		p.done = true
		c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
		return nil
	}
	var sentNow int64
	for maxRows == 0 || sentNow < maxRows {
		values, ok, err := p.rows.next(p.formats)
		if err != nil {
			p.done = true
			p.close()
			return err
		}
		if !ok {
			p.done = true
			p.close()
			p.tag = fmt.Sprintf("%s %d", p.tag, p.sent)
			c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
			return nil
		}
		c.be.Send(&pgproto3.DataRow{Values: values})
		p.sent++
		sentNow++
		if p.sent%512 == 0 {
			if err := c.be.Flush(); err != nil {
				// The client has gone: stop here; the loop's next read sees it.
				p.done = true
				p.close()
				return nil
			}
		}
	}
	c.be.Send(&pgproto3.PortalSuspended{})
	return nil
}

// rowDescription describes the fields, with each one's format.
func rowDescription(fields []field, formats []int16) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{Fields: make([]pgproto3.FieldDescription, len(fields))}
	for i, f := range fields {
		oid := wireType(f.oid)
		rd.Fields[i] = pgproto3.FieldDescription{Name: []byte(f.name), TableOID: f.table, TableAttributeNumber: uint16(f.attnum),
			DataTypeOID: oid, DataTypeSize: typeSize(oid), TypeModifier: f.typmod, Format: formats[i]}
	}
	return rd
}

// parse handles Parse: a statement is parsed and kept under its name.
func (c *conn) parse(m *pgproto3.Parse) error {
	if m.Name != "" && c.statements[m.Name] != nil {
		return errorf("42P05", "prepared statement %q already exists", m.Name)
	}
	c.log.Debug("statement", "sql", m.Query, "name", m.Name)
	stmts, err := parseSQL(m.Query)
	if err != nil {
		return err
	}
	if len(stmts) > 1 {
		return errorf(codeSyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	p := &prepared{sql: m.Query, paramTypes: append([]uint32(nil), m.ParameterOIDs...)}
	if len(stmts) == 1 {
		p.raw = stmts[0]
	}
	c.statements[m.Name] = p
	c.be.Send(&pgproto3.ParseComplete{})
	return nil
}

// bind handles Bind: the statement's parameters are decoded and the portal planned.
func (c *conn) bind(m *pgproto3.Bind) error {
	stmt := c.statements[m.PreparedStatement]
	if stmt == nil {
		return errorf(codeInvalidStatement, "prepared statement %q does not exist", m.PreparedStatement)
	}
	if m.DestinationPortal != "" && c.portals[m.DestinationPortal] != nil {
		return errorf("42P03", "portal %q already exists", m.DestinationPortal)
	}
	values := make([][]byte, len(m.Parameters))
	for i, v := range m.Parameters {
		if v != nil {
			values[i] = append([]byte{}, v...)
		}
	}
	formatOf := func(i int) int16 {
		switch len(m.ParameterFormatCodes) {
		case 0:
			return 0
		case 1:
			return m.ParameterFormatCodes[0]
		}
		if i < len(m.ParameterFormatCodes) {
			return m.ParameterFormatCodes[i]
		}
		return 0
	}
	// Types are known once the statement is described with them; a first pass infers them.
	desc, err := c.plan(stmt, &params{types: append([]uint32(nil), stmt.paramTypes...)})
	if err != nil {
		return err
	}
	if len(values) != len(desc.paramTypes) {
		return errorf(codeProtocolViolation, "bind message supplies %d parameters, but prepared statement %q requires %d",
			len(values), m.PreparedStatement, len(desc.paramTypes))
	}
	types := desc.paramTypes
	p := &params{types: append([]uint32(nil), types...), value: func(n int) (string, bool, error) {
		if n < 1 || n > len(values) {
			return "", false, errorf(codeUndefinedParameter, "there is no parameter $%d", n)
		}
		return paramText(c.types, types[n-1], formatOf(n-1), values[n-1])
	}}
	pl, err := c.plan(stmt, p)
	if err != nil {
		return err
	}
	formats := make([]int16, len(pl.fields))
	for i := range formats {
		switch len(m.ResultFormatCodes) {
		case 0:
		case 1:
			formats[i] = m.ResultFormatCodes[0]
		default:
			if i < len(m.ResultFormatCodes) {
				formats[i] = m.ResultFormatCodes[i]
			}
		}
	}
	if old := c.portals[m.DestinationPortal]; old != nil {
		old.close()
	}
	c.portals[m.DestinationPortal] = &portal{plan: pl, formats: formats}
	c.be.Send(&pgproto3.BindComplete{})
	return nil
}

// describe handles Describe of a statement (its parameters and columns) or of a portal.
func (c *conn) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		stmt := c.statements[m.Name]
		if stmt == nil {
			return errorf(codeInvalidStatement, "prepared statement %q does not exist", m.Name)
		}
		pl, err := c.plan(stmt, &params{types: append([]uint32(nil), stmt.paramTypes...)})
		if err != nil {
			return err
		}
		types := make([]uint32, len(pl.paramTypes))
		for i, t := range pl.paramTypes {
			types[i] = wireType(t)
			if t == 0 {
				types[i] = oidText
			}
		}
		c.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: types})
		c.sendFields(pl.fields, make([]int16, len(pl.fields)))
	case 'P':
		p := c.portals[m.Name]
		if p == nil {
			return errorf(codeInvalidCursorName, "portal %q does not exist", m.Name)
		}
		c.sendFields(p.plan.fields, p.formats)
	default:
		return errorf(codeProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

func (c *conn) sendFields(fields []field, formats []int16) {
	if fields == nil {
		c.be.Send(&pgproto3.NoData{})
		return
	}
	c.be.Send(rowDescription(fields, formats))
}

// execute handles Execute.
func (c *conn) execute(m *pgproto3.Execute) error {
	p := c.portals[m.Portal]
	if p == nil {
		return errorf(codeInvalidCursorName, "portal %q does not exist", m.Portal)
	}
	return c.runPortal(p, int64(m.MaxRows))
}

// closeObject handles Close of a statement or a portal; closing one that does not exist is not
// an error.
func (c *conn) closeObject(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(c.statements, m.Name)
	case 'P':
		if p := c.portals[m.Name]; p != nil {
			p.close()
			delete(c.portals, m.Name)
		}
	default:
		return errorf(codeProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType)
	}
	c.be.Send(&pgproto3.CloseComplete{})
	return nil
}

// command is a planned statement that returns no rows.
func command(tag string, effect func() error) *planned {
	return &planned{run: func(context.Context) (rowIter, string, error) {
		if effect != nil {
			if err := effect(); err != nil {
				return nil, "", err
			}
		}
		return nil, tag, nil
	}}
}

// plan plans a statement with its parameters.
func (c *conn) plan(stmt *prepared, p *params) (*planned, error) {
	if stmt.raw == nil {
		return command("", nil), nil
	}
	node := stmt.raw.Stmt
	if c.txFailed {
		if ts := node.GetTransactionStmt(); ts == nil || !(ts.Kind == pg.TransactionStmtKind_TRANS_STMT_ROLLBACK || ts.Kind == pg.TransactionStmtKind_TRANS_STMT_COMMIT) {
			return nil, errorf(codeInFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
		}
	}
	pl, err := c.planNode(stmt, node, p)
	if err != nil {
		return nil, err
	}
	pl.paramTypes = p.types
	return pl, nil
}

func (c *conn) planNode(stmt *prepared, node *pg.Node, p *params) (*planned, error) {
	switch x := node.Node.(type) {
	case *pg.Node_SelectStmt:
		return c.planSelect(x.SelectStmt, p)
	case *pg.Node_VariableSetStmt:
		return c.planSet(x.VariableSetStmt)
	case *pg.Node_VariableShowStmt:
		return c.planShow(x.VariableShowStmt.Name)
	case *pg.Node_TransactionStmt:
		return c.planTransaction(x.TransactionStmt)
	case *pg.Node_DiscardStmt:
		return command("DISCARD ALL", nil), nil
	case *pg.Node_DeallocateStmt:
		name := x.DeallocateStmt.Name
		return command("DEALLOCATE", func() error {
			if name == "" {
				clear(c.statements)
			} else {
				delete(c.statements, name)
			}
			return nil
		}), nil
	case *pg.Node_ExplainStmt:
		return c.planExplain(x.ExplainStmt, p)
	case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt, *pg.Node_CopyStmt:
		return nil, errorf("25006", "the SQL API is read-only: metrics are defined in the semantic layer's definitions, not written with SQL")
	}
	kind := strings.TrimPrefix(fmt.Sprintf("%T", node.Node), "*pg_query.Node_")
	return nil, unsupported("statement "+kind, "the SQL API answers SELECT over the semantic tables and the catalog, SHOW, SET and transaction statements")
}

// planTransaction accepts BEGIN, COMMIT and ROLLBACK: every statement only reads, so a
// transaction only changes the status clients are told.
func (c *conn) planTransaction(ts *pg.TransactionStmt) (*planned, error) {
	switch ts.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		return command("BEGIN", func() error { c.inTx = true; return nil }), nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		tag := "COMMIT"
		if c.txFailed {
			tag = "ROLLBACK"
		}
		return command(tag, func() error { c.inTx, c.txFailed = false, false; return nil }), nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return command("ROLLBACK", func() error { c.inTx, c.txFailed = false, false; return nil }), nil
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return command("SAVEPOINT", nil), nil
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return command("RELEASE", nil), nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return command("ROLLBACK", func() error { c.txFailed = false; return nil }), nil
	}
	return nil, unsupported("this transaction statement", "use BEGIN, COMMIT and ROLLBACK; every statement here only reads")
}

// planSet applies SET and RESET to the session (see session.set).
func (c *conn) planSet(s *pg.VariableSetStmt) (*planned, error) {
	name := strings.ToLower(s.Name)
	switch s.Kind {
	case pg.VariableSetKind_VAR_SET_VALUE:
		var parts []string
		for _, a := range s.Args {
			switch {
			case a.GetAConst() != nil:
				v, _ := constText(a.GetAConst())
				parts = append(parts, v)
			case a.GetTypeCast() != nil && a.GetTypeCast().Arg.GetAConst() != nil:
				v, _ := constText(a.GetTypeCast().Arg.GetAConst())
				parts = append(parts, v)
			default:
				return nil, unsupported("this SET value", "give a constant")
			}
		}
		value := strings.Join(parts, ", ")
		if name == "search_path" {
			quoted := make([]string, len(parts))
			for i, p := range parts {
				quoted[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
			}
			value = strings.Join(quoted, ",")
		}
		return command("SET", func() error { return c.sess.set(name, value) }), nil
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		return command("SET", func() error { return c.resetSetting(name) }), nil
	case pg.VariableSetKind_VAR_RESET_ALL:
		return command("RESET", func() error {
			c.sess.settings = map[string]string{}
			c.sess.searchPathSet = false
			c.sess.resetTimeZone(c.srv.opts.TimeZone)
			c.sess.statementTimeout = 0
			rel, err := c.relations()
			if err == nil {
				c.sess.defaultSearchPath(rel)
			}
			return err
		}), nil
	case pg.VariableSetKind_VAR_SET_MULTI, pg.VariableSetKind_VAR_SET_CURRENT:
		return command("SET", nil), nil // SET TRANSACTION …, SET … FROM CURRENT: nothing to change
	}
	return nil, unsupported("this SET", "SET name = value")
}

func (c *conn) resetSetting(name string) error {
	switch name {
	case "timezone":
		c.sess.resetTimeZone(c.srv.opts.TimeZone)
	case "search_path":
		c.sess.searchPathSet = false
		rel, err := c.relations()
		if err != nil {
			return err
		}
		c.sess.defaultSearchPath(rel)
	case "statement_timeout":
		c.sess.statementTimeout = 0
	default:
		delete(c.sess.settings, name)
	}
	return nil
}

// planShow answers SHOW name, and SHOW ALL.
func (c *conn) planShow(name string) (*planned, error) {
	lname := strings.ToLower(name)
	if lname == "all" {
		fields := []field{{name: "name", oid: oidText, typmod: -1}, {name: "setting", oid: oidText, typmod: -1}, {name: "description", oid: oidText, typmod: -1}}
		var rows [][]any
		for _, r := range loadStatic().settingRel {
			rows = append(rows, []any{r[0], c.sess.show(r[0].(string)), r[4]})
		}
		return c.valuesPlan(fields, rows, "SHOW"), nil
	}
	if lname == "transaction isolation level" {
		lname = "transaction_isolation"
	}
	if !c.sess.known(lname) {
		return nil, errorf(codeUndefinedObject, "unrecognized configuration parameter %q", name)
	}
	return c.valuesPlan([]field{{name: lname, oid: oidText, typmod: -1}}, [][]any{{c.sess.show(lname)}}, "SHOW"), nil
}

// valuesPlan returns rows already computed.
func (c *conn) valuesPlan(fields []field, rows [][]any, tag string) *planned {
	return &planned{fields: fields, run: func(context.Context) (rowIter, string, error) {
		return &valueRows{c: c, fields: fields, rows: rows}, tag, nil
	}}
}

// valueRows yields rows of evaluator values.
type valueRows struct {
	c      *conn
	fields []field
	rows   [][]any
	i      int
}

func (r *valueRows) next(formats []int16) ([][]byte, bool, error) {
	if r.i >= len(r.rows) {
		return nil, false, nil
	}
	row := r.rows[r.i]
	r.i++
	out := make([][]byte, len(row))
	for j, v := range row {
		b, err := r.c.encodeValue(v, r.fields[j].oid, formats[j])
		if err != nil {
			return nil, false, err
		}
		out[j] = b
	}
	return out, true, nil
}

func (r *valueRows) close() {}
