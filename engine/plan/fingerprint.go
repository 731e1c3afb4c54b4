package plan

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// ErrNoFingerprint is wrapped by Fingerprint's error for a plan holding a node or expression it
// does not know.
var ErrNoFingerprint = errors.New("plan cannot be fingerprinted")

// Fingerprint returns a key that is equal for two plans only when they are the same plan: the
// same nodes with the same parameters, the same expressions with the same types, and literals of
// the same type and exact value (the bits of a float, the scale of a decimal, the zone of a
// timestamp, every byte of a string). A result cache keys results by it, and row-level security
// makes the plans of callers with different permissions differ, so no caller is served rows
// computed for another.
//
// Format is not such a key: it prints for people, and different plans print alike (the integer
// 1 and the float 1, a timestamp literal in two zones, an implicit cast, a string holding a
// newline and the text of another line). The fingerprint is a prefix-free encoding instead: each
// node and expression is a tag followed by its fields in a fixed order, strings carry their
// length, lists their count, and optional parts a presence mark; it is meant to be compared, not
// read. Time zones are identified by name, as PostgreSQL identifies them.
//
// A plan holding a node or expression this function does not know is an error wrapping
// ErrNoFingerprint, rather than a key that might ignore what makes it different: callers then
// run the plan uncached.
func Fingerprint(n Node) (string, error) {
	f := fingerprinter{buf: make([]byte, 0, 1024)}
	f.node(n)
	if f.err != nil {
		return "", f.err
	}
	return string(f.buf), nil
}

type fingerprinter struct {
	buf []byte
	err error
}

func (f *fingerprinter) fail(what string, x any) {
	if f.err == nil {
		f.err = fmt.Errorf("%w: %s %T", ErrNoFingerprint, what, x)
	}
}

func (f *fingerprinter) tag(t byte) { f.buf = append(f.buf, t) }

func (f *fingerprinter) int(v int64) {
	f.buf = strconv.AppendInt(f.buf, v, 10)
	f.buf = append(f.buf, ';')
}

func (f *fingerprinter) uint(v uint64) {
	f.buf = strconv.AppendUint(f.buf, v, 10)
	f.buf = append(f.buf, ';')
}

func (f *fingerprinter) bool(v bool) {
	if v {
		f.buf = append(f.buf, '1')
	} else {
		f.buf = append(f.buf, '0')
	}
}

// str writes s as its length and its bytes, so that no content can run into what follows.
func (f *fingerprinter) str(s string) {
	f.buf = strconv.AppendInt(f.buf, int64(len(s)), 10)
	f.buf = append(f.buf, ':')
	f.buf = append(f.buf, s...)
}

// typ writes a data type: its id, then the parameters of the types plans use; other types
// write arrow's own fingerprint, and a type without one is an error.
func (f *fingerprinter) typ(t arrow.DataType) {
	if t == nil {
		f.tag('_')
		return
	}
	id := t.ID()
	f.int(int64(id))
	switch id {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32, arrow.DATE64:
	case arrow.TIMESTAMP:
		ts := t.(*arrow.TimestampType)
		f.int(int64(ts.Unit))
		f.str(ts.TimeZone)
	case arrow.DECIMAL128, arrow.DECIMAL256:
		d := t.(arrow.DecimalType)
		f.int(int64(d.GetPrecision()))
		f.int(int64(d.GetScale()))
	case arrow.DICTIONARY:
		d := t.(*arrow.DictionaryType)
		f.typ(d.IndexType)
		f.typ(d.ValueType)
		f.bool(d.Ordered)
	default:
		fp := t.Fingerprint()
		if fp == "" {
			f.fail("data type", t)
		}
		f.str(fp)
	}
}

// calendar writes what makes a calendar's periods what they are (not its name, which changes
// none); nil is the ISO calendar.
func (f *fingerprinter) calendar(c *Calendar) {
	if c == nil {
		f.tag('_')
		return
	}
	f.tag('c')
	f.int(int64(c.WeekStart))
	if r := c.Retail; r != nil {
		f.tag('r')
		for _, w := range r.Pattern {
			f.int(int64(w))
		}
		f.int(int64(r.YearEndMonth))
		f.int(int64(r.YearEndWeekday))
		f.bool(r.Nearest)
		return
	}
	f.tag('f')
	f.int(int64(c.FiscalYearStart))
}

func (f *fingerprinter) optLiteral(l *Literal) {
	if l == nil {
		f.tag('_')
		return
	}
	f.literal(l)
}

func (f *fingerprinter) optExpr(e Expr) {
	if e == nil {
		f.tag('_')
		return
	}
	f.expr(e)
}

func (f *fingerprinter) exprs(es []Expr) {
	f.int(int64(len(es)))
	for _, e := range es {
		f.expr(e)
	}
}

func (f *fingerprinter) named(ns []Named) {
	f.int(int64(len(ns)))
	for _, n := range ns {
		f.str(n.Name)
		f.expr(n.Expr)
	}
}

func (f *fingerprinter) literal(l *Literal) {
	f.tag('l')
	f.typ(l.Type)
	switch v := l.Value.(type) {
	case nil:
		f.tag('n')
	case int64:
		f.tag('i')
		f.int(v)
	case int32:
		f.tag('j')
		f.int(int64(v))
	case float64:
		f.tag('f')
		f.uint(math.Float64bits(v))
	case decimal128.Num:
		f.tag('d')
		f.int(v.HighBits())
		f.uint(v.LowBits())
	case string:
		f.tag('s')
		f.str(v)
	case bool:
		f.tag('b')
		f.bool(v)
	default:
		f.fail("literal value", v)
	}
}

// expr writes an expression. Types an expression derives from its operands (a comparison's
// boolean, a coalesce's promoted type) follow from what is written and are left out.
func (f *fingerprinter) expr(e Expr) {
	switch x := e.(type) {
	case *Column:
		f.tag('c')
		f.str(x.Name)
		f.typ(x.Type)
	case *Literal:
		f.literal(x)
	case *Cast:
		f.tag('C')
		f.typ(x.To)
		f.bool(x.Implicit)
		f.expr(x.X)
	case *Binary:
		f.tag('B')
		f.int(int64(x.Op))
		f.expr(x.Left)
		f.expr(x.Right)
	case *Not:
		f.tag('!')
		f.expr(x.X)
	case *Negate:
		f.tag('m')
		f.expr(x.X)
	case *IsNull:
		f.tag('u')
		f.bool(x.Not)
		f.expr(x.X)
	case *In:
		f.tag('I')
		f.bool(x.Not)
		f.expr(x.X)
		f.int(int64(len(x.List)))
		for _, l := range x.List {
			f.literal(l)
		}
	case *Coalesce:
		f.tag('V')
		f.exprs(x.Args)
	case *Contains:
		f.tag('k')
		f.bool(x.Not)
		f.str(x.Substr)
		f.expr(x.X)
	case *Mask:
		f.tag('M')
		f.int(int64(x.Kind))
		f.expr(x.X)
	case *TimeTrunc:
		f.tag('T')
		f.int(int64(x.Unit))
		f.str(x.Location.String())
		f.calendar(x.Calendar)
		f.expr(x.X)
	case *TimeShift:
		f.tag('H')
		f.int(int64(x.Unit))
		f.int(x.N)
		f.str(x.Location.String())
		f.calendar(x.Calendar)
		f.expr(x.X)
	case *Case:
		f.tag('W')
		f.int(int64(len(x.Whens)))
		for _, w := range x.Whens {
			f.expr(w.Cond)
			f.expr(w.Then)
		}
		f.optExpr(x.Else)
	default:
		f.fail("expression", e)
	}
}

// node writes a node and then its inputs. A scan writes the types of the columns it reads,
// which come from the table rather than from the plan.
func (f *fingerprinter) node(n Node) {
	switch x := n.(type) {
	case *Scan:
		f.tag('S')
		f.str(x.Source)
		f.str(x.Table)
		f.str(x.Alias)
		f.int(int64(len(x.Columns)))
		for i, c := range x.Columns {
			field := x.Schema().Field(i)
			f.str(c)
			f.typ(field.Type)
			f.bool(field.Nullable)
		}
		f.optExpr(x.Filter)
	case *Filter:
		f.tag('F')
		f.expr(x.Predicate)
	case *Project:
		f.tag('P')
		f.named(x.Exprs)
	case *Join:
		f.tag('J')
		f.int(int64(x.Kind))
		f.bool(x.NullSafe)
		f.exprs(x.LeftKeys)
		f.exprs(x.RightKeys)
	case *Aggregate:
		f.tag('A')
		f.named(x.GroupBy)
		f.int(int64(len(x.Aggs)))
		for _, a := range x.Aggs {
			f.str(a.Name)
			f.int(int64(a.Func))
			f.uint(math.Float64bits(a.Fraction))
			f.optExpr(a.Arg)
			f.optExpr(a.Filter)
		}
	case *Sort:
		f.tag('O')
		f.int(int64(len(x.Keys)))
		for _, k := range x.Keys {
			f.expr(k.Expr)
			f.bool(k.Desc)
			f.bool(k.NullsFirst)
		}
	case *Limit:
		f.tag('L')
		f.int(x.Offset)
		f.int(x.Count)
	case *Densify:
		f.tag('D')
		f.str(x.Time)
		f.int(int64(len(x.Keys)))
		for _, k := range x.Keys {
			f.str(k)
		}
		f.int(int64(x.Unit))
		f.str(x.Location.String())
		f.calendar(x.Calendar)
		f.optLiteral(x.From)
		f.optLiteral(x.To)
	case *TimeWindows:
		f.tag('Y')
		f.str(x.Time)
		f.str(x.Name)
		f.int(int64(x.Unit))
		f.int(int64(x.Kind))
		f.int(x.N)
		f.int(int64(x.Span))
		f.str(x.Location.String())
		f.calendar(x.Calendar)
		f.optLiteral(x.From)
		f.optLiteral(x.To)
	case *Lookup:
		f.tag('K')
		f.exprs(x.Keys)
		f.exprs(x.Probe)
		f.named(x.Values)
	default:
		f.fail("node", n)
		return
	}
	// Each node kind has a fixed number of inputs, so the count need not be written.
	for _, c := range n.Children() {
		f.node(c)
	}
}
