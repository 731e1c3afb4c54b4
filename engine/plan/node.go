package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Node is a relational operator in a logical plan. Nodes are immutable: rewrites build new nodes
// with WithChildren, and a rule that changes nothing returns the node it was given.
type Node interface {
	// Schema is the schema of the rows the node yields.
	Schema() *arrow.Schema
	// Children returns the inputs, in order.
	Children() []Node
	// WithChildren returns a copy with the inputs replaced, checked as the constructor checks.
	WithChildren(children ...Node) (Node, error)
	// String describes the node alone, on one line; Format prints the whole tree.
	String() string
}

var (
	_ Node = (*Scan)(nil)
	_ Node = (*Filter)(nil)
	_ Node = (*Project)(nil)
	_ Node = (*Join)(nil)
	_ Node = (*Aggregate)(nil)
	_ Node = (*Sort)(nil)
	_ Node = (*Limit)(nil)
)

// Named is an expression with the name of the column it produces.
type Named struct {
	Name string
	Expr Expr
}

func (n Named) String() string {
	if c, ok := n.Expr.(*Column); ok && c.Name == n.Name {
		return n.Name
	}
	return fmt.Sprintf("%s := %s", n.Name, n.Expr)
}

// Scan reads columns of a table. Table names the table within its source (a demo table, a file,
// or later a warehouse table); Alias qualifies the output columns ("orders.amount"). Filter, when
// set, keeps only the rows where it is true, and may be evaluated by the source itself.
type Scan struct {
	Source  string
	Table   string
	Alias   string
	Columns []string
	Filter  Expr
	schema  *arrow.Schema
}

// NewScan returns a scan of the given columns of table, whose full schema is tableSchema.
func NewScan(source, table, alias string, tableSchema *arrow.Schema, columns []string, filter Expr) (*Scan, error) {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		idx := tableSchema.FieldIndices(c)
		if len(idx) != 1 {
			return nil, fmt.Errorf("scan %s: table has no column %q (it has %s)", table, c, fieldNames(tableSchema))
		}
		f := tableSchema.Field(idx[0])
		fields[i] = arrow.Field{Name: alias + "." + c, Type: f.Type, Nullable: f.Nullable}
	}
	s := &Scan{Source: source, Table: table, Alias: alias, Columns: columns, Filter: filter, schema: arrow.NewSchema(fields, nil)}
	if err := checkUnique(s.schema); err != nil {
		return nil, fmt.Errorf("scan %s: %w", table, err)
	}
	if filter != nil {
		if err := checkPredicate(filter, s.schema); err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
	}
	return s, nil
}

// WithFilter returns the scan with filter as its predicate.
func (s *Scan) WithFilter(filter Expr) (*Scan, error) {
	if filter != nil {
		if err := checkPredicate(filter, s.schema); err != nil {
			return nil, fmt.Errorf("scan %s: %w", s.Table, err)
		}
	}
	c := *s
	c.Filter = filter
	return &c, nil
}

func (s *Scan) Schema() *arrow.Schema { return s.schema }
func (s *Scan) Children() []Node      { return nil }
func (s *Scan) WithChildren(children ...Node) (Node, error) {
	return s, checkNodeArity("Scan", children, 0)
}
func (s *Scan) String() string {
	out := fmt.Sprintf("Scan %s:%s AS %s [%s]", s.Source, s.Table, s.Alias, strings.Join(s.Columns, ", "))
	if s.Filter != nil {
		out += " WHERE " + s.Filter.String()
	}
	return out
}

// Filter keeps the input rows for which Predicate is true (not false, not NULL).
type Filter struct {
	Input     Node
	Predicate Expr
}

// NewFilter returns input filtered by predicate.
func NewFilter(input Node, predicate Expr) (*Filter, error) {
	if err := checkPredicate(predicate, input.Schema()); err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	return &Filter{Input: input, Predicate: predicate}, nil
}

func (f *Filter) Schema() *arrow.Schema { return f.Input.Schema() }
func (f *Filter) Children() []Node      { return []Node{f.Input} }
func (f *Filter) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Filter", children, 1); err != nil {
		return nil, err
	}
	return NewFilter(children[0], f.Predicate)
}
func (f *Filter) String() string { return "Filter " + f.Predicate.String() }

// Project computes named expressions over each input row.
type Project struct {
	Input  Node
	Exprs  []Named
	schema *arrow.Schema
}

// NewProject returns the named expressions computed over input.
func NewProject(input Node, exprs []Named) (*Project, error) {
	fields := make([]arrow.Field, len(exprs))
	for i, e := range exprs {
		if err := checkExprInput(e.Expr, input.Schema()); err != nil {
			return nil, fmt.Errorf("project %s: %w", e.Name, err)
		}
		fields[i] = arrow.Field{Name: e.Name, Type: e.Expr.DataType(), Nullable: true}
	}
	p := &Project{Input: input, Exprs: exprs, schema: arrow.NewSchema(fields, nil)}
	if err := checkUnique(p.schema); err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	return p, nil
}

func (p *Project) Schema() *arrow.Schema { return p.schema }
func (p *Project) Children() []Node      { return []Node{p.Input} }
func (p *Project) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Project", children, 1); err != nil {
		return nil, err
	}
	return NewProject(children[0], p.Exprs)
}
func (p *Project) String() string { return "Project " + joinNamed(p.Exprs) }

// JoinKind says which unmatched rows a join keeps.
type JoinKind int

// The join kinds.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	FullJoin
)

var joinKindText = [...]string{"Inner", "Left", "Full"}

func (k JoinKind) String() string { return joinKindText[k] }

// Join matches rows of Left and Right whose keys are equal, yielding the left columns followed by
// the right ones. With NullSafe, NULL keys match each other (IS NOT DISTINCT FROM), which is how
// results grouped by the same dimensions are merged.
type Join struct {
	Left, Right         Node
	Kind                JoinKind
	LeftKeys, RightKeys []Expr
	NullSafe            bool
	schema              *arrow.Schema
}

// NewJoin returns the equi-join of left and right on the pairs of keys.
func NewJoin(kind JoinKind, left, right Node, leftKeys, rightKeys []Expr, nullSafe bool) (*Join, error) {
	if len(leftKeys) == 0 || len(leftKeys) != len(rightKeys) {
		return nil, fmt.Errorf("join needs matching key lists, got %d and %d keys", len(leftKeys), len(rightKeys))
	}
	for i := range leftKeys {
		if err := checkExprInput(leftKeys[i], left.Schema()); err != nil {
			return nil, fmt.Errorf("join left key: %w", err)
		}
		if err := checkExprInput(rightKeys[i], right.Schema()); err != nil {
			return nil, fmt.Errorf("join right key: %w", err)
		}
		lt, rt := leftKeys[i].DataType(), rightKeys[i].DataType()
		if !SameType(ValueType(lt), ValueType(rt)) && !(IsInteger(lt) && IsInteger(rt)) {
			return nil, fmt.Errorf("join key %s is %s but %s is %s", leftKeys[i], TypeName(lt), rightKeys[i], TypeName(rt))
		}
	}
	fields := make([]arrow.Field, 0, left.Schema().NumFields()+right.Schema().NumFields())
	for _, f := range left.Schema().Fields() {
		f.Nullable = f.Nullable || kind == FullJoin
		fields = append(fields, f)
	}
	for _, f := range right.Schema().Fields() {
		f.Nullable = f.Nullable || kind != InnerJoin
		fields = append(fields, f)
	}
	j := &Join{Left: left, Right: right, Kind: kind, LeftKeys: leftKeys, RightKeys: rightKeys, NullSafe: nullSafe,
		schema: arrow.NewSchema(fields, nil)}
	if err := checkUnique(j.schema); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	return j, nil
}

func (j *Join) Schema() *arrow.Schema { return j.schema }
func (j *Join) Children() []Node      { return []Node{j.Left, j.Right} }
func (j *Join) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Join", children, 2); err != nil {
		return nil, err
	}
	return NewJoin(j.Kind, children[0], children[1], j.LeftKeys, j.RightKeys, j.NullSafe)
}
func (j *Join) String() string {
	conds := make([]string, len(j.LeftKeys))
	op := "="
	if j.NullSafe {
		op = "IS NOT DISTINCT FROM"
	}
	for i := range j.LeftKeys {
		conds[i] = fmt.Sprintf("%s %s %s", j.LeftKeys[i], op, j.RightKeys[i])
	}
	return fmt.Sprintf("%sJoin %s", j.Kind, strings.Join(conds, " AND "))
}

// AggFunc is an aggregate function.
type AggFunc int

// The aggregate functions. Count with no argument counts rows. Percentile is the continuous
// percentile of AggExpr.Fraction (PostgreSQL's percentile_cont), Median the one of 0.5.
const (
	Sum AggFunc = iota
	Count
	CountDistinct
	Avg
	Min
	Max
	Percentile
	Median
)

var aggFuncText = [...]string{"sum", "count", "count_distinct", "avg", "min", "max", "percentile", "median"}

func (f AggFunc) String() string { return aggFuncText[f] }

// ParseAggFunc returns the function named s.
func ParseAggFunc(s string) (AggFunc, error) {
	for i, t := range aggFuncText {
		if s == t {
			return AggFunc(i), nil
		}
	}
	return 0, fmt.Errorf("unknown aggregation %q; use one of %s", s, strings.Join(aggFuncText[:], ", "))
}

// AggExpr is one aggregate: Func over Arg (nil only for counting rows), over the rows where
// Filter is true (every row when nil). NULL arguments are skipped as SQL does: sum, avg, min,
// max and percentiles of no values are NULL, counts are 0. Fraction is the percentile a
// Percentile computes, from 0 to 1.
type AggExpr struct {
	Name     string
	Func     AggFunc
	Arg      Expr
	Filter   Expr
	Fraction float64
}

// Quantile is the fraction of values a percentile aggregate lies above: Fraction, or 0.5 for
// the median.
func (a AggExpr) Quantile() float64 {
	if a.Func == Median {
		return 0.5
	}
	return a.Fraction
}

// NewAggExpr checks and returns an aggregate.
func NewAggExpr(name string, fn AggFunc, arg, filter Expr) (AggExpr, error) {
	a := AggExpr{Name: name, Func: fn, Arg: arg, Filter: filter}
	if arg == nil && fn != Count {
		return a, fmt.Errorf("%s needs an argument", fn)
	}
	if arg != nil {
		t := arg.DataType()
		switch fn {
		case Sum, Avg, Percentile, Median:
			if !IsNumeric(t) {
				return a, fmt.Errorf("%s(%s): cannot %s a %s; %s needs a number", fn, arg, fn, TypeName(t), fn)
			}
		case Min, Max:
			if !IsNumeric(t) && !IsString(t) && !IsTemporal(t) {
				return a, fmt.Errorf("%s(%s): cannot take the %s of a %s", fn, arg, fn, TypeName(t))
			}
		}
	}
	if filter != nil && !IsBoolean(filter.DataType()) {
		return a, fmt.Errorf("%s filter %s is %s, not boolean", name, filter, TypeName(filter.DataType()))
	}
	return a, nil
}

// DataType is the type of the aggregate's result: int64 for counts, float64 for averages,
// int64/float64/decimal(38,s) for sums, and the argument's value type for min and max.
func (a AggExpr) DataType() arrow.DataType {
	switch a.Func {
	case Count, CountDistinct:
		return Int64
	case Avg, Percentile, Median:
		return Float64
	case Sum:
		t := a.Arg.DataType()
		switch {
		case IsInteger(t):
			return Int64
		case IsFloat(t):
			return Float64
		}
		return Decimal(MaxDecimalPrecision, DecimalScale(t))
	}
	if IsString(a.Arg.DataType()) {
		return String
	}
	return a.Arg.DataType()
}

func (a AggExpr) String() string {
	arg := "*"
	if a.Arg != nil {
		arg = a.Arg.String()
	}
	s := fmt.Sprintf("%s := %s(%s)", a.Name, a.Func, arg)
	if a.Func == Percentile {
		s = fmt.Sprintf("%s := percentile(%g, %s)", a.Name, a.Fraction, arg)
	}
	if a.Filter != nil {
		s += " FILTER (WHERE " + a.Filter.String() + ")"
	}
	return s
}

// Aggregate groups its input by GroupBy and computes Aggs per group, yielding the group columns
// followed by the aggregates. With no GroupBy it yields one row, even for empty input.
type Aggregate struct {
	Input   Node
	GroupBy []Named
	Aggs    []AggExpr
	schema  *arrow.Schema
}

// NewAggregate returns input grouped by groupBy with aggs computed per group.
func NewAggregate(input Node, groupBy []Named, aggs []AggExpr) (*Aggregate, error) {
	fields := make([]arrow.Field, 0, len(groupBy)+len(aggs))
	for _, g := range groupBy {
		if err := checkExprInput(g.Expr, input.Schema()); err != nil {
			return nil, fmt.Errorf("aggregate group %s: %w", g.Name, err)
		}
		fields = append(fields, arrow.Field{Name: g.Name, Type: groupKeyType(g.Expr.DataType()), Nullable: true})
	}
	for _, a := range aggs {
		for _, e := range []Expr{a.Arg, a.Filter} {
			if e == nil {
				continue
			}
			if err := checkExprInput(e, input.Schema()); err != nil {
				return nil, fmt.Errorf("aggregate %s: %w", a.Name, err)
			}
		}
		if _, err := NewAggExpr(a.Name, a.Func, a.Arg, a.Filter); err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", a.Name, err)
		}
		if a.Func == Percentile && !(a.Fraction >= 0 && a.Fraction <= 1) {
			return nil, fmt.Errorf("aggregate %s: percentile %v is not from 0 to 1", a.Name, a.Fraction)
		}
		fields = append(fields, arrow.Field{Name: a.Name, Type: a.DataType(), Nullable: a.Func != Count && a.Func != CountDistinct})
	}
	n := &Aggregate{Input: input, GroupBy: groupBy, Aggs: aggs, schema: arrow.NewSchema(fields, nil)}
	if err := checkUnique(n.schema); err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	return n, nil
}

// groupKeyType is the type an aggregate emits a group key of type t as: strings that arrive
// dictionary-encoded leave as DictionaryOfStrings (their indices re-numbered over every batch and
// partial), everything else as it came.
func groupKeyType(t arrow.DataType) arrow.DataType {
	if t.ID() == arrow.DICTIONARY && IsString(t) {
		return DictionaryOfStrings
	}
	return t
}

func (a *Aggregate) Schema() *arrow.Schema { return a.schema }
func (a *Aggregate) Children() []Node      { return []Node{a.Input} }
func (a *Aggregate) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Aggregate", children, 1); err != nil {
		return nil, err
	}
	return NewAggregate(children[0], a.GroupBy, a.Aggs)
}
func (a *Aggregate) String() string {
	aggs := make([]string, len(a.Aggs))
	for i, x := range a.Aggs {
		aggs[i] = x.String()
	}
	return fmt.Sprintf("Aggregate group=[%s] aggs=[%s]", joinNamed(a.GroupBy), strings.Join(aggs, ", "))
}

// SortKey is one ordering key.
type SortKey struct {
	Expr       Expr
	Desc       bool
	NullsFirst bool
}

func (k SortKey) String() string {
	s := k.Expr.String()
	if k.Desc {
		s += " DESC"
	}
	if k.NullsFirst {
		s += " NULLS FIRST"
	} else {
		s += " NULLS LAST"
	}
	return s
}

// Sort orders its input by Keys, the first key first; ties keep no particular order.
type Sort struct {
	Input Node
	Keys  []SortKey
}

// NewSort returns input ordered by keys.
func NewSort(input Node, keys []SortKey) (*Sort, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("sort needs at least one key")
	}
	for _, k := range keys {
		if err := checkExprInput(k.Expr, input.Schema()); err != nil {
			return nil, fmt.Errorf("sort: %w", err)
		}
		if IsBoolean(k.Expr.DataType()) {
			continue
		}
		if t := k.Expr.DataType(); !IsNumeric(t) && !IsString(t) && !IsTemporal(t) {
			return nil, fmt.Errorf("sort: cannot order by %s values", TypeName(t))
		}
	}
	return &Sort{Input: input, Keys: keys}, nil
}

func (s *Sort) Schema() *arrow.Schema { return s.Input.Schema() }
func (s *Sort) Children() []Node      { return []Node{s.Input} }
func (s *Sort) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Sort", children, 1); err != nil {
		return nil, err
	}
	return NewSort(children[0], s.Keys)
}
func (s *Sort) String() string {
	keys := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		keys[i] = k.String()
	}
	return "Sort " + strings.Join(keys, ", ")
}

// Limit skips Offset rows and then yields at most Count rows (all of them when Count < 0).
type Limit struct {
	Input  Node
	Offset int64
	Count  int64
}

// NewLimit returns input with offset rows skipped and at most count rows kept (count < 0: no cap).
func NewLimit(input Node, offset, count int64) (*Limit, error) {
	if offset < 0 {
		return nil, fmt.Errorf("limit: offset %d is negative", offset)
	}
	return &Limit{Input: input, Offset: offset, Count: count}, nil
}

func (l *Limit) Schema() *arrow.Schema { return l.Input.Schema() }
func (l *Limit) Children() []Node      { return []Node{l.Input} }
func (l *Limit) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Limit", children, 1); err != nil {
		return nil, err
	}
	return NewLimit(children[0], l.Offset, l.Count)
}
func (l *Limit) String() string {
	if l.Count < 0 {
		return fmt.Sprintf("Limit offset=%d", l.Offset)
	}
	return fmt.Sprintf("Limit %d offset=%d", l.Count, l.Offset)
}

// Format prints the plan as an indented tree, one node per line, children indented under their
// parent. Compiler tests compare this text against golden files.
func Format(n Node) string {
	var b strings.Builder
	format(&b, n, 0)
	return b.String()
}

func format(b *strings.Builder, n Node, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString(n.String())
	b.WriteByte('\n')
	for _, c := range n.Children() {
		format(b, c, depth+1)
	}
}

func checkPredicate(e Expr, s *arrow.Schema) error {
	if err := checkExprInput(e, s); err != nil {
		return err
	}
	if !IsBoolean(e.DataType()) {
		return fmt.Errorf("predicate %s is %s, not boolean", e, TypeName(e.DataType()))
	}
	return nil
}

func checkUnique(s *arrow.Schema) error {
	seen := make(map[string]bool, s.NumFields())
	for _, f := range s.Fields() {
		if seen[f.Name] {
			return fmt.Errorf("two output columns are named %q", f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}

func checkNodeArity(what string, children []Node, n int) error {
	if len(children) != n {
		return fmt.Errorf("%s takes %d inputs, got %d", what, n, len(children))
	}
	return nil
}

func joinNamed(ns []Named) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, ", ")
}
