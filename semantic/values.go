package semantic

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/plan"
)

// The number of values DimensionValues returns when the question sets no limit, and the most it
// returns whatever the limit.
const (
	DefaultDimensionValues = 100
	MaxDimensionValues     = 1000
)

// DimensionValuesQuery asks which values a dimension takes.
type DimensionValuesQuery struct {
	// Dimension is the qualified name, such as "orders.status".
	Dimension string
	// Search keeps the values that contain it, ignoring case; text dimensions only.
	Search string
	// Limit is the most values to return: 0 means DefaultDimensionValues, and it may not exceed
	// MaxDimensionValues.
	Limit int
}

// DimensionValues are the values a dimension takes in the rows a caller may see.
type DimensionValues struct {
	Dimension *Dimension
	// Mask says how the caller sees the values masked, or "" when it sees them as they are.
	Mask authz.MaskKind
	// Values are the distinct values in ascending order, a NULL last, each with how many rows of
	// the dimension's model have it; for a time dimension they are empty and Earliest and Latest
	// say what time the rows span.
	Values []DimensionValue
	// More says there are values past the limit.
	More bool
	// Earliest and Latest are a time dimension's first and last values (RFC 3339), or "" when no
	// row has one.
	Earliest, Latest string
}

// DimensionValue is one value of a dimension, as text (FormatValue), and the rows that have it.
type DimensionValue struct {
	Value string
	Null  bool
	Rows  int64
}

// DimensionValues returns the distinct values of a dimension among the rows of its model that
// acc's principal may see, as it sees them: row filters keep other rows out, and a masked
// dimension's values are masked (and searched masked, so a search cannot probe the real ones).
// The dimension must be one the caller may query; errors are those of Query.
func (s *Service) DimensionValues(ctx context.Context, acc *Access, q DimensionValuesQuery) (*DimensionValues, error) {
	if acc == nil || acc.cat != s.catalog {
		return nil, fmt.Errorf("dimension values: the access given is not to this catalog")
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultDimensionValues
	case limit < 0 || limit > MaxDimensionValues:
		return nil, invalid("limit %d is outside 1 to %d; search for the values you need instead", limit, MaxDimensionValues)
	}
	d, err := acc.queryableDimension(q.Dimension)
	if err != nil {
		return nil, err
	}
	cc := &compiler{cat: s.catalog, acc: acc, opts: s.opts.CompileOptions, loc: s.opts.Location,
		rowFilters: map[*DataModel]plan.Expr{}, scanning: map[*DataModel]bool{}}
	if cc.loc == nil {
		cc.loc = time.UTC
	}
	root, err := cc.valuesPlan(d, q.Search, limit)
	if err != nil {
		return nil, err
	}
	if root, err = plan.Optimize(root, plan.DefaultRules); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	res, err := s.engine.Execute(ctx, root)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	out := &DimensionValues{Dimension: d, Mask: acc.Mask(d)}
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			if d.Type == DimensionTime {
				out.Earliest, out.Latest = FormatValue(b.Column(0), i), FormatValue(b.Column(1), i)
				continue
			}
			v := b.Column(0)
			out.Values = append(out.Values, DimensionValue{Value: FormatValue(v, i), Null: v.IsNull(i), Rows: rowCount(b.Column(1), i)})
		}
	}
	if len(out.Values) > limit {
		out.Values, out.More = out.Values[:limit], true
	}
	return out, nil
}

// valuesPlan scans the dimension's model as the caller may see it and groups by the dimension's
// value (its earliest and latest, for a time dimension), keeping limit+1 values so that the
// caller learns whether there are more.
func (cc *compiler) valuesPlan(d *Dimension, search string, limit int) (plan.Node, error) {
	columns := map[string]bool{}
	for _, q := range plan.ColumnsOf(d.Expr) {
		if _, c, ok := cutQualified(q); ok {
			columns[c] = true
		}
	}
	node, err := cc.scan(d.Model, columns)
	if err != nil {
		return nil, err
	}
	if search != "" {
		if !plan.IsString(d.Expr.DataType()) {
			return nil, invalid("search applies to text dimensions; %s is a %s dimension: list its values without a search", d.QualifiedName(), d.Type)
		}
		pred, err := filterPredicate(d, ContainsOp, []string{search}, cc.loc)
		if err != nil {
			return nil, invalid("search %q: %v", search, err)
		}
		p, err := pred(d.Expr)
		if err != nil {
			return nil, err
		}
		if node, err = plan.NewFilter(node, p); err != nil {
			return nil, err
		}
	}
	if d.Type == DimensionTime {
		earliest, err := plan.NewAggExpr("earliest", plan.Min, d.Expr, nil)
		if err != nil {
			return nil, err
		}
		latest, err := plan.NewAggExpr("latest", plan.Max, d.Expr, nil)
		if err != nil {
			return nil, err
		}
		return plan.NewAggregate(node, nil, []plan.AggExpr{earliest, latest})
	}
	rows, err := plan.NewAggExpr("rows", plan.Count, nil, nil)
	if err != nil {
		return nil, err
	}
	name := d.QualifiedName()
	agg, err := plan.NewAggregate(node, []plan.Named{{Name: name, Expr: d.Expr}}, []plan.AggExpr{rows})
	if err != nil {
		return nil, err
	}
	value, err := plan.ColumnOf(agg.Schema(), name)
	if err != nil {
		return nil, err
	}
	sorted, err := plan.NewSort(agg, []plan.SortKey{{Expr: value}})
	if err != nil {
		return nil, err
	}
	return plan.NewLimit(sorted, 0, int64(limit)+1)
}

// rowCount reads a count, which the engine computes as int64.
func rowCount(a arrow.Array, i int) int64 {
	type int64Values interface{ Value(int) int64 }
	if c, ok := a.(int64Values); ok && !a.IsNull(i) {
		return c.Value(i)
	}
	return 0
}
