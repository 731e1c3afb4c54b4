package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Expr is a scalar expression: evaluated over a batch, it yields one value per row.
//
// Expressions are immutable; build them with the New… constructors, which check operand types and
// insert implicit casts, so a built expression is well-typed.
type Expr interface {
	// DataType is the type of the values the expression yields.
	DataType() arrow.DataType
	// Children returns the operand expressions, in order.
	Children() []Expr
	// WithChildren returns a copy with the operands replaced; it checks types as the
	// constructor does.
	WithChildren(children ...Expr) (Expr, error)
	// String prints the expression in a SQL-like syntax, for plans and error messages.
	String() string
}

var (
	_ Expr = (*Column)(nil)
	_ Expr = (*Literal)(nil)
	_ Expr = (*Cast)(nil)
	_ Expr = (*Binary)(nil)
	_ Expr = (*Not)(nil)
	_ Expr = (*Negate)(nil)
	_ Expr = (*IsNull)(nil)
	_ Expr = (*In)(nil)
	_ Expr = (*Coalesce)(nil)
	_ Expr = (*Contains)(nil)
	_ Expr = (*Mask)(nil)
	_ Expr = (*TimeTrunc)(nil)
	_ Expr = (*Case)(nil)
)

// Column refers to a column of the input by its qualified name.
type Column struct {
	Name string
	Type arrow.DataType
}

// NewColumn returns a reference to the named column of type t.
func NewColumn(name string, t arrow.DataType) *Column { return &Column{Name: name, Type: t} }

// ColumnOf returns a reference to the named field of s.
func ColumnOf(s *arrow.Schema, name string) (*Column, error) {
	idx := s.FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("column %q: %d matches in input (%s)", name, len(idx), fieldNames(s))
	}
	return &Column{Name: name, Type: s.Field(idx[0]).Type}, nil
}

func (c *Column) DataType() arrow.DataType { return c.Type }
func (c *Column) Children() []Expr         { return nil }
func (c *Column) WithChildren(children ...Expr) (Expr, error) {
	return c, checkArity("column", children, 0)
}
func (c *Column) String() string { return c.Name }

// Cast converts its operand to another type. The constructors insert implicit casts to bring
// operands to one type; implicit casts print as their operand.
type Cast struct {
	X        Expr
	To       arrow.DataType
	Implicit bool
}

// NewCast returns x converted to t. Supported: integers to int64, float64 or decimal; float32 to
// float64; decimals to float64 or to a decimal of larger scale.
func NewCast(x Expr, t arrow.DataType) (Expr, error) { return newCast(x, t, false) }

func newCast(x Expr, t arrow.DataType, implicit bool) (Expr, error) {
	from := x.DataType()
	if arrow.TypeEqual(from, t) {
		return x, nil
	}
	ok := false
	switch {
	case IsInteger(from):
		ok = t.ID() == arrow.INT64 || t.ID() == arrow.FLOAT64 || IsDecimal(t)
	case IsFloat(from):
		ok = t.ID() == arrow.FLOAT64
	case IsDecimal(from):
		ok = t.ID() == arrow.FLOAT64 || (IsDecimal(t) && DecimalScale(t) >= DecimalScale(from))
	case from.ID() == arrow.NULL:
		ok = true
	}
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %s", TypeName(from), TypeName(t))
	}
	return &Cast{X: x, To: t, Implicit: implicit}, nil
}

func (c *Cast) DataType() arrow.DataType { return c.To }
func (c *Cast) Children() []Expr         { return []Expr{c.X} }
func (c *Cast) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("cast", children, 1); err != nil {
		return nil, err
	}
	return newCast(children[0], c.To, c.Implicit)
}
func (c *Cast) String() string {
	if c.Implicit {
		return c.X.String()
	}
	return fmt.Sprintf("CAST(%s AS %s)", c.X, TypeName(c.To))
}

// BinaryOp is an arithmetic, comparison or logical operator.
type BinaryOp int

// The binary operators.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Eq
	NotEq
	Lt
	LtEq
	Gt
	GtEq
	And
	Or
)

var binaryOpText = [...]string{"+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">=", "AND", "OR"}

func (op BinaryOp) String() string { return binaryOpText[op] }

// IsArithmetic reports whether op is +, -, * or /.
func (op BinaryOp) IsArithmetic() bool { return op <= Div }

// IsComparison reports whether op compares its operands.
func (op BinaryOp) IsComparison() bool { return op >= Eq && op <= GtEq }

// Binary applies an operator to two operands. Arithmetic and comparison yield NULL when either
// operand is NULL; division yields a float and NULL for a zero divisor; AND and OR follow SQL's
// three-valued logic.
type Binary struct {
	Op          BinaryOp
	Left, Right Expr
	typ         arrow.DataType
}

// NewBinary returns left op right, promoting numeric operands to one type: integers to int64,
// anything with a float to float64, decimals to one scale. Division always yields float64.
func NewBinary(op BinaryOp, left, right Expr) (Expr, error) {
	lt, rt := left.DataType(), right.DataType()
	switch {
	case op == And || op == Or:
		if !isBoolOrNull(lt) || !isBoolOrNull(rt) {
			return nil, fmt.Errorf("%s needs boolean operands, got %s and %s", op, TypeName(lt), TypeName(rt))
		}
		return &Binary{Op: op, Left: left, Right: right, typ: Boolean}, nil
	case op.IsArithmetic():
		if !isNumericOrNull(lt) || !isNumericOrNull(rt) {
			return nil, fmt.Errorf("%s needs numeric operands, got %s and %s", op, TypeName(lt), TypeName(rt))
		}
		if op == Div {
			l, err := newCast(left, Float64, true)
			if err != nil {
				return nil, err
			}
			r, err := newCast(right, Float64, true)
			if err != nil {
				return nil, err
			}
			return &Binary{Op: op, Left: l, Right: r, typ: Float64}, nil
		}
		l, r, t, err := promoteNumeric(left, right, op == Mul)
		if err != nil {
			return nil, err
		}
		return &Binary{Op: op, Left: l, Right: r, typ: t}, nil
	default:
		switch {
		case isNumericOrNull(lt) && isNumericOrNull(rt):
			l, r, _, err := promoteNumeric(left, right, false)
			if err != nil {
				return nil, err
			}
			return &Binary{Op: op, Left: l, Right: r, typ: Boolean}, nil
		case SameType(ValueType(lt), ValueType(rt)), lt.ID() == arrow.NULL, rt.ID() == arrow.NULL:
			return &Binary{Op: op, Left: left, Right: right, typ: Boolean}, nil
		}
		return nil, fmt.Errorf("cannot compare %s with %s", TypeName(lt), TypeName(rt))
	}
}

// promoteNumeric casts two numeric operands to one type. For multiplication decimals keep their
// own scales (the product's scale is their sum); otherwise they are brought to the larger scale.
func promoteNumeric(left, right Expr, mul bool) (Expr, Expr, arrow.DataType, error) {
	lt, rt := left.DataType(), right.DataType()
	if lt.ID() == arrow.NULL {
		lt = rt
	}
	if rt.ID() == arrow.NULL {
		rt = lt
	}
	var lTo, rTo, result arrow.DataType
	switch {
	case lt.ID() == arrow.NULL:
		lTo, rTo, result = Int64, Int64, Int64
	case IsFloat(lt) || IsFloat(rt):
		lTo, rTo, result = Float64, Float64, Float64
	case IsDecimal(lt) || IsDecimal(rt):
		ls, rs := DecimalScale(lt), DecimalScale(rt)
		if mul {
			lTo, rTo = Decimal(MaxDecimalPrecision, ls), Decimal(MaxDecimalPrecision, rs)
			result = Decimal(MaxDecimalPrecision, min(ls+rs, MaxDecimalPrecision))
		} else {
			s := max(ls, rs)
			lTo, rTo, result = Decimal(MaxDecimalPrecision, s), Decimal(MaxDecimalPrecision, s), Decimal(MaxDecimalPrecision, s)
		}
	default:
		lTo, rTo, result = Int64, Int64, Int64
	}
	l, err := castUnlessSameDecimalScale(left, lTo)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := castUnlessSameDecimalScale(right, rTo)
	if err != nil {
		return nil, nil, nil, err
	}
	return l, r, result, nil
}

// castUnlessSameDecimalScale casts x to t, except that a decimal already at t's scale is kept as
// it is: kernels work on the scaled integers and do not care about declared precision.
func castUnlessSameDecimalScale(x Expr, t arrow.DataType) (Expr, error) {
	if IsDecimal(x.DataType()) && IsDecimal(t) && DecimalScale(x.DataType()) == DecimalScale(t) {
		return x, nil
	}
	return newCast(x, t, true)
}

func isBoolOrNull(t arrow.DataType) bool    { return IsBoolean(t) || t.ID() == arrow.NULL }
func isNumericOrNull(t arrow.DataType) bool { return IsNumeric(t) || t.ID() == arrow.NULL }

func (b *Binary) DataType() arrow.DataType { return b.typ }
func (b *Binary) Children() []Expr         { return []Expr{b.Left, b.Right} }
func (b *Binary) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity(b.Op.String(), children, 2); err != nil {
		return nil, err
	}
	return NewBinary(b.Op, children[0], children[1])
}
func (b *Binary) String() string { return fmt.Sprintf("(%s %s %s)", b.Left, b.Op, b.Right) }

// Not negates a boolean; NOT NULL is NULL.
type Not struct{ X Expr }

// NewNot returns NOT x.
func NewNot(x Expr) (Expr, error) {
	if !isBoolOrNull(x.DataType()) {
		return nil, fmt.Errorf("NOT needs a boolean operand, got %s", TypeName(x.DataType()))
	}
	return &Not{X: x}, nil
}

func (n *Not) DataType() arrow.DataType { return Boolean }
func (n *Not) Children() []Expr         { return []Expr{n.X} }
func (n *Not) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("NOT", children, 1); err != nil {
		return nil, err
	}
	return NewNot(children[0])
}
func (n *Not) String() string { return fmt.Sprintf("(NOT %s)", n.X) }

// Negate changes the sign of a number.
type Negate struct{ X Expr }

// NewNegate returns -x.
func NewNegate(x Expr) (Expr, error) {
	t := x.DataType()
	if !IsNumeric(t) {
		return nil, fmt.Errorf("unary minus needs a number, got %s", TypeName(t))
	}
	if IsInteger(t) && t.ID() != arrow.INT64 {
		var err error
		if x, err = newCast(x, Int64, true); err != nil {
			return nil, err
		}
	}
	if t.ID() == arrow.FLOAT32 {
		var err error
		if x, err = newCast(x, Float64, true); err != nil {
			return nil, err
		}
	}
	return &Negate{X: x}, nil
}

func (n *Negate) DataType() arrow.DataType { return n.X.DataType() }
func (n *Negate) Children() []Expr         { return []Expr{n.X} }
func (n *Negate) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("unary minus", children, 1); err != nil {
		return nil, err
	}
	return NewNegate(children[0])
}
func (n *Negate) String() string { return fmt.Sprintf("(-%s)", n.X) }

// IsNull tests for NULL (or, with Not set, for a value); it never yields NULL itself.
type IsNull struct {
	X   Expr
	Not bool
}

// NewIsNull returns x IS NULL, or x IS NOT NULL when not is true.
func NewIsNull(x Expr, not bool) Expr { return &IsNull{X: x, Not: not} }

func (n *IsNull) DataType() arrow.DataType { return Boolean }
func (n *IsNull) Children() []Expr         { return []Expr{n.X} }
func (n *IsNull) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("IS NULL", children, 1); err != nil {
		return nil, err
	}
	return NewIsNull(children[0], n.Not), nil
}
func (n *IsNull) String() string {
	if n.Not {
		return fmt.Sprintf("(%s IS NOT NULL)", n.X)
	}
	return fmt.Sprintf("(%s IS NULL)", n.X)
}

// In tests membership in a list of literals, as SQL does: NULL when x is NULL, or when x is not
// found and the list holds a NULL.
type In struct {
	X    Expr
	List []*Literal
	Not  bool
}

// NewIn returns x IN (list...), or NOT IN when not is true. Every literal must have x's type
// (coerce filter values with ParseLiteral first).
func NewIn(x Expr, list []*Literal, not bool) (Expr, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("IN needs at least one value")
	}
	xt := x.DataType()
	for _, l := range list {
		if l.Value != nil && !inListFits(xt, l.Type) {
			return nil, fmt.Errorf("IN list value %s is %s, but %s is %s", l, TypeName(l.Type), x, TypeName(xt))
		}
	}
	return &In{X: x, List: list, Not: not}, nil
}

// inListFits reports whether values of type v can be looked up among values of type x as they
// are: any integer width against int64 constants, decimals of the same scale whatever their
// precision, and otherwise the same type.
func inListFits(x, v arrow.DataType) bool {
	switch {
	case IsInteger(x) && IsInteger(v), IsFloat(x) && IsFloat(v):
		return true
	case IsDecimal(x) && IsDecimal(v):
		return DecimalScale(x) == DecimalScale(v)
	}
	return SameType(ValueType(x), ValueType(v))
}

func (n *In) DataType() arrow.DataType { return Boolean }
func (n *In) Children() []Expr         { return []Expr{n.X} }
func (n *In) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("IN", children, 1); err != nil {
		return nil, err
	}
	return NewIn(children[0], n.List, n.Not)
}
func (n *In) String() string {
	var b strings.Builder
	b.WriteString("(")
	b.WriteString(n.X.String())
	if n.Not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	for i, l := range n.List {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.String())
	}
	b.WriteString("))")
	return b.String()
}

// Coalesce yields its first non-NULL argument.
type Coalesce struct {
	Args []Expr
	typ  arrow.DataType
}

// NewCoalesce returns coalesce(args...); numeric arguments are promoted to one type.
func NewCoalesce(args ...Expr) (Expr, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("coalesce needs at least one argument")
	}
	var t arrow.DataType
	for _, a := range args {
		at := a.DataType()
		switch {
		case at.ID() == arrow.NULL:
		case t == nil:
			t = at
		case IsNumeric(t) && IsNumeric(at):
			t = widerNumeric(t, at)
		case !SameType(ValueType(t), ValueType(at)):
			return nil, fmt.Errorf("coalesce arguments have different types: %s and %s", TypeName(t), TypeName(at))
		}
	}
	if t == nil {
		return nil, fmt.Errorf("coalesce needs an argument that is not NULL")
	}
	if IsString(t) {
		t = String
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		var err error
		if IsNumeric(t) {
			if out[i], err = newCast(a, t, true); err != nil {
				return nil, err
			}
		} else {
			out[i] = a
		}
	}
	return &Coalesce{Args: out, typ: t}, nil
}

// widerNumeric is the type both a and b convert to without loss of scale.
func widerNumeric(a, b arrow.DataType) arrow.DataType {
	switch {
	case IsFloat(a) || IsFloat(b):
		return Float64
	case IsDecimal(a) || IsDecimal(b):
		return Decimal(MaxDecimalPrecision, max(DecimalScale(a), DecimalScale(b)))
	}
	return Int64
}

func (c *Coalesce) DataType() arrow.DataType { return c.typ }
func (c *Coalesce) Children() []Expr         { return c.Args }
func (c *Coalesce) WithChildren(children ...Expr) (Expr, error) {
	return NewCoalesce(children...)
}
func (c *Coalesce) String() string { return "coalesce(" + joinExprs(c.Args) + ")" }

// Contains tests, ignoring case, whether a string contains a substring.
type Contains struct {
	X      Expr
	Substr string
	Not    bool
}

// NewContains returns whether x contains substr ignoring case (or does not, when not is true).
func NewContains(x Expr, substr string, not bool) (Expr, error) {
	if !IsString(x.DataType()) {
		return nil, fmt.Errorf("contains needs a string, got %s", TypeName(x.DataType()))
	}
	return &Contains{X: x, Substr: substr, Not: not}, nil
}

func (c *Contains) DataType() arrow.DataType { return Boolean }
func (c *Contains) Children() []Expr         { return []Expr{c.X} }
func (c *Contains) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("contains", children, 1); err != nil {
		return nil, err
	}
	return NewContains(children[0], c.Substr, c.Not)
}
func (c *Contains) String() string {
	s := fmt.Sprintf("contains(%s, %s)", c.X, quoteString(c.Substr))
	if c.Not {
		return "(NOT " + s + ")"
	}
	return s
}

// MaskKind is how a Mask hides a string.
type MaskKind int

// The mask kinds.
const (
	// MaskHash replaces a value by the lowercase hex MD5 of its UTF-8 bytes, as PostgreSQL's
	// md5(text) does: equal values still group together, but none can be read.
	MaskHash MaskKind = iota
	// MaskPartial keeps a value's first and last character and replaces each character between
	// by "*"; a value of at most two characters becomes that many "*".
	MaskPartial
)

var maskKindText = [...]string{"hash", "partial"}

func (k MaskKind) String() string { return maskKindText[k] }

// ParseMaskKind returns the mask kind named s ("hash", "partial").
func ParseMaskKind(s string) (MaskKind, error) {
	if i := indexFold(maskKindText[:], s); i >= 0 {
		return MaskKind(i), nil
	}
	return 0, fmt.Errorf("unknown mask %q; use one of %s", s, strings.Join(maskKindText[:], ", "))
}

// indexFold returns the index of s among names, ignoring case, or -1.
func indexFold(names []string, s string) int {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i
		}
	}
	return -1
}

// Mask hides a string's value while keeping the rows it labels: access control wraps a PII
// dimension in a Mask where a policy shows it masked rather than not at all. Characters are
// Unicode code points, counted as PostgreSQL's char_length counts them, so that the engine and
// a pushed-down statement mask alike. NULL stays NULL.
type Mask struct {
	X    Expr
	Kind MaskKind
}

// NewMask returns x masked as kind says; x must be a string (plain or dictionary-encoded).
func NewMask(x Expr, kind MaskKind) (Expr, error) {
	if kind != MaskHash && kind != MaskPartial {
		return nil, fmt.Errorf("unknown mask kind %d", int(kind))
	}
	if t := x.DataType(); !IsString(t) {
		return nil, fmt.Errorf("cannot mask %s: it is %s, and masks apply to text", x, TypeName(t))
	}
	return &Mask{X: x, Kind: kind}, nil
}

// DataType is a plain string, whatever the input's encoding.
func (m *Mask) DataType() arrow.DataType { return String }
func (m *Mask) Children() []Expr         { return []Expr{m.X} }
func (m *Mask) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("mask_"+m.Kind.String(), children, 1); err != nil {
		return nil, err
	}
	return NewMask(children[0], m.Kind)
}
func (m *Mask) String() string { return fmt.Sprintf("mask_%s(%s)", m.Kind, m.X) }

// TimeUnit is a calendar granularity that time values are truncated to.
type TimeUnit int

// The time units, finest first within the calendar units and within the fiscal ones. Fiscal
// units follow a Calendar's fiscal year; see Calendar.Truncate.
const (
	Day TimeUnit = iota
	Week
	Month
	Quarter
	Year
	FiscalMonth
	FiscalQuarter
	FiscalYear
)

var timeUnitText = [...]string{"day", "week", "month", "quarter", "year", "fiscal_month", "fiscal_quarter", "fiscal_year"}

func (u TimeUnit) String() string { return timeUnitText[u] }

// TimeUnits lists every time unit, in order.
func TimeUnits() []TimeUnit {
	out := make([]TimeUnit, len(timeUnitText))
	for i := range out {
		out[i] = TimeUnit(i)
	}
	return out
}

// ParseTimeUnit returns the unit named s ("day", "week", "month", "quarter", "year",
// "fiscal_month", "fiscal_quarter", "fiscal_year").
func ParseTimeUnit(s string) (TimeUnit, error) {
	if i := indexFold(timeUnitText[:], s); i >= 0 {
		return TimeUnit(i), nil
	}
	return 0, fmt.Errorf("unknown granularity %q; use one of %s", s, strings.Join(timeUnitText[:], ", "))
}

// TimeTrunc truncates a timestamp to the start of its day, week, month, quarter or year, or
// fiscal month, quarter or year, in a time zone and a calendar, yielding the instant that period
// starts, typed in that zone. A date is truncated as a calendar date and stays a date. A nil
// Calendar is the ISO calendar (weeks from Monday).
type TimeTrunc struct {
	X        Expr
	Unit     TimeUnit
	Location *time.Location
	Calendar *Calendar
	typ      arrow.DataType
}

// NewTimeTrunc returns x truncated to unit in loc, in the ISO calendar.
func NewTimeTrunc(x Expr, unit TimeUnit, loc *time.Location) (Expr, error) {
	return NewCalendarTrunc(x, unit, loc, nil)
}

// NewCalendarTrunc returns x truncated to unit in loc and cal (nil: the ISO calendar).
func NewCalendarTrunc(x Expr, unit TimeUnit, loc *time.Location, cal *Calendar) (Expr, error) {
	t, err := timeResultType(x, loc, "truncate", unit)
	if err != nil {
		return nil, err
	}
	if cal.IsISO() {
		cal = nil
	}
	return &TimeTrunc{X: x, Unit: unit, Location: loc, Calendar: cal, typ: t}, nil
}

// timeResultType is the type a time function of x yields: a timestamp in loc, or a date.
func timeResultType(x Expr, loc *time.Location, verb string, unit TimeUnit) (arrow.DataType, error) {
	switch x.DataType().ID() {
	case arrow.TIMESTAMP:
		return Timestamp(loc.String()), nil
	case arrow.DATE32:
		return Date, nil
	}
	return nil, fmt.Errorf("cannot %s %s by a %s: it is not a time", verb, TypeName(x.DataType()), unit)
}

func (t *TimeTrunc) DataType() arrow.DataType { return t.typ }
func (t *TimeTrunc) Children() []Expr         { return []Expr{t.X} }
func (t *TimeTrunc) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("date_trunc", children, 1); err != nil {
		return nil, err
	}
	return NewCalendarTrunc(children[0], t.Unit, t.Location, t.Calendar)
}
func (t *TimeTrunc) String() string {
	var s string
	if t.typ.ID() == arrow.DATE32 {
		s = fmt.Sprintf("date_trunc('%s', %s", t.Unit, t.X)
	} else {
		s = fmt.Sprintf("date_trunc('%s', %s, '%s'", t.Unit, t.X, t.Location)
	}
	if t.Calendar != nil {
		s += ", " + calendarText(t.Calendar)
	}
	return s + ")"
}

// calendarText names a calendar in a plan: by its name, and its settings.
func calendarText(c *Calendar) string {
	return fmt.Sprintf("calendar %s (%s)", quoteString(c.Name), c)
}

// When is one branch of a Case.
type When struct {
	Cond, Then Expr
}

// Case yields the Then of the first When whose condition is true, else Else (NULL if nil).
type Case struct {
	Whens []When
	Else  Expr
	typ   arrow.DataType
}

// NewCase returns CASE WHEN … THEN … [ELSE …] END; numeric results are promoted to one type.
func NewCase(whens []When, els Expr) (Expr, error) {
	if len(whens) == 0 {
		return nil, fmt.Errorf("CASE needs at least one WHEN")
	}
	results := make([]Expr, 0, len(whens)+1)
	for _, w := range whens {
		if !isBoolOrNull(w.Cond.DataType()) {
			return nil, fmt.Errorf("CASE WHEN condition %s is %s, not boolean", w.Cond, TypeName(w.Cond.DataType()))
		}
		results = append(results, w.Then)
	}
	if els != nil {
		results = append(results, els)
	}
	co, err := NewCoalesce(results...)
	if err != nil {
		return nil, fmt.Errorf("CASE branches: %w", err)
	}
	cast := co.(*Coalesce).Args
	out := make([]When, len(whens))
	for i, w := range whens {
		out[i] = When{Cond: w.Cond, Then: cast[i]}
	}
	var e Expr
	if els != nil {
		e = cast[len(whens)]
	}
	return &Case{Whens: out, Else: e, typ: co.DataType()}, nil
}

func (c *Case) DataType() arrow.DataType { return c.typ }
func (c *Case) Children() []Expr {
	out := make([]Expr, 0, 2*len(c.Whens)+1)
	for _, w := range c.Whens {
		out = append(out, w.Cond, w.Then)
	}
	if c.Else != nil {
		out = append(out, c.Else)
	}
	return out
}
func (c *Case) WithChildren(children ...Expr) (Expr, error) {
	want := 2 * len(c.Whens)
	if c.Else != nil {
		want++
	}
	if err := checkArity("CASE", children, want); err != nil {
		return nil, err
	}
	whens := make([]When, len(c.Whens))
	for i := range whens {
		whens[i] = When{Cond: children[2*i], Then: children[2*i+1]}
	}
	var els Expr
	if c.Else != nil {
		els = children[want-1]
	}
	return NewCase(whens, els)
}
func (c *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, w := range c.Whens {
		fmt.Fprintf(&b, " WHEN %s THEN %s", w.Cond, w.Then)
	}
	if c.Else != nil {
		fmt.Fprintf(&b, " ELSE %s", c.Else)
	}
	b.WriteString(" END")
	return b.String()
}

// Walk calls fn for e and, while fn returns true, for each of its operands, depth first.
func Walk(e Expr, fn func(Expr) bool) {
	if !fn(e) {
		return
	}
	for _, c := range e.Children() {
		Walk(c, fn)
	}
}

// ColumnsOf returns the names of the columns e reads, each once, in order of first use.
func ColumnsOf(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Column); ok && !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c.Name)
		}
		return true
	})
	return out
}

// checkExprInput reports an error unless every column e reads is a field of s with the same type.
func checkExprInput(e Expr, s *arrow.Schema) error {
	var err error
	Walk(e, func(x Expr) bool {
		c, ok := x.(*Column)
		if !ok || err != nil {
			return err == nil
		}
		idx := s.FieldIndices(c.Name)
		switch {
		case len(idx) != 1:
			err = fmt.Errorf("%s reads column %q, which the input does not have (it has %s)", e, c.Name, fieldNames(s))
		case !arrow.TypeEqual(s.Field(idx[0]).Type, c.Type):
			err = fmt.Errorf("%s reads column %q as %s, but the input has %s", e, c.Name, c.Type, s.Field(idx[0]).Type)
		}
		return err == nil
	})
	return err
}

func checkArity(what string, children []Expr, n int) error {
	if len(children) != n {
		return fmt.Errorf("%s takes %d operands, got %d", what, n, len(children))
	}
	return nil
}

func joinExprs(es []Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
