package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

var _ Node = (*Lookup)(nil)

// Lookup extends each row of its input with values read from another row of the same input:
// the row whose Keys equal this row's Probe (NULL matching NULL), or NULLs when there is none.
// Keys identify a row — no two input rows have equal keys, as over an aggregate's groups — so a
// row finds at most one other. Comparisons use it to fetch each period's previous value from the
// very rows that hold the current ones, which are then computed once.
//
// The output is the input's columns followed by Values, each evaluated over the row found.
type Lookup struct {
	Input  Node
	Keys   []Expr
	Probe  []Expr
	Values []Named
	schema *arrow.Schema
}

// NewLookup returns input extended with values of the rows whose keys equal each row's probe.
func NewLookup(input Node, keys, probe []Expr, values []Named) (*Lookup, error) {
	if len(keys) == 0 || len(keys) != len(probe) {
		return nil, fmt.Errorf("lookup needs matching key and probe lists, got %d and %d", len(keys), len(probe))
	}
	in := input.Schema()
	for i := range keys {
		if err := checkExprInput(keys[i], in); err != nil {
			return nil, fmt.Errorf("lookup key: %w", err)
		}
		if err := checkExprInput(probe[i], in); err != nil {
			return nil, fmt.Errorf("lookup probe: %w", err)
		}
		kt, pt := keys[i].DataType(), probe[i].DataType()
		if !SameType(ValueType(kt), ValueType(pt)) && !(IsInteger(kt) && IsInteger(pt)) {
			return nil, fmt.Errorf("lookup key %s is %s but probe %s is %s", keys[i], TypeName(kt), probe[i], TypeName(pt))
		}
	}
	fields := append([]arrow.Field(nil), in.Fields()...)
	for _, v := range values {
		if err := checkExprInput(v.Expr, in); err != nil {
			return nil, fmt.Errorf("lookup value %s: %w", v.Name, err)
		}
		fields = append(fields, arrow.Field{Name: v.Name, Type: v.Expr.DataType(), Nullable: true})
	}
	l := &Lookup{Input: input, Keys: keys, Probe: probe, Values: values, schema: arrow.NewSchema(fields, nil)}
	if err := checkUnique(l.schema); err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return l, nil
}

func (l *Lookup) Schema() *arrow.Schema { return l.schema }
func (l *Lookup) Children() []Node      { return []Node{l.Input} }
func (l *Lookup) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Lookup", children, 1); err != nil {
		return nil, err
	}
	return NewLookup(children[0], l.Keys, l.Probe, l.Values)
}
func (l *Lookup) String() string {
	conds := make([]string, len(l.Keys))
	for i := range l.Keys {
		conds[i] = fmt.Sprintf("%s IS NOT DISTINCT FROM %s", l.Keys[i], l.Probe[i])
	}
	return fmt.Sprintf("Lookup [%s] WHERE %s", joinNamed(l.Values), strings.Join(conds, " AND "))
}
