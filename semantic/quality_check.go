package semantic

import (
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/plan"
)

// qualityCheck is a quality rule compiled: the plan that measures it, which the engine runs or
// pushes down to the warehouse as any query's, and how to read its answer.
type qualityCheck struct {
	plan plan.Node
	// measure reads the plan's rows: the value measured (nil when there is nothing to measure)
	// and the detail a run records.
	measure func(rows []arrow.RecordBatch) (value *float64, detail map[string]any, err error)
}

// compileQualityCheck compiles a rule's check, as it would run at now, with full access: the
// checks are the platform's own and look at every row.
func (c *Catalog) compileQualityCheck(r *QualityRule, opts CompileOptions, now time.Time) (*qualityCheck, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	if r.Kind == Reconciliation {
		return c.compileReconciliation(r, opts, now)
	}
	cc := &compiler{cat: c, acc: c.FullAccess(), opts: opts, loc: loc, rowFilters: map[*DataModel]plan.Expr{}, scanning: map[*DataModel]bool{}}
	if r.Kind == Uniqueness {
		return cc.uniquenessCheck(r)
	}
	target, err := qualityTarget(r)
	if err != nil {
		return nil, err
	}
	columns := map[string]bool{}
	for _, q := range plan.ColumnsOf(target) {
		if _, col, ok := cutQualified(q); ok {
			columns[col] = true
		}
	}
	scan, err := cc.scan(r.Model, columns)
	if err != nil {
		return nil, err
	}
	var aggs []plan.AggExpr
	agg := func(name string, fn plan.AggFunc, arg, filter plan.Expr) {
		if err != nil {
			return
		}
		var a plan.AggExpr
		if a, err = plan.NewAggExpr(name, fn, arg, filter); err == nil {
			aggs = append(aggs, a)
		}
	}
	var measure func(row func(string) (float64, bool), rows []arrow.RecordBatch) (*float64, map[string]any, error)
	switch r.Kind {
	case Completeness:
		agg("rows", plan.Count, nil, nil)
		agg("nulls", plan.Count, nil, plan.NewIsNull(target, false))
		measure = func(row func(string) (float64, bool), _ []arrow.RecordBatch) (*float64, map[string]any, error) {
			rows, _ := row("rows")
			nulls, _ := row("nulls")
			return share(nulls, rows), map[string]any{"rows": rows, "nulls": nulls}, nil
		}
	case Freshness:
		agg("rows", plan.Count, nil, nil)
		agg("newest", plan.Max, target, nil)
		measure = func(row func(string) (float64, bool), batches []arrow.RecordBatch) (*float64, map[string]any, error) {
			rows, _ := row("rows")
			newest, ok := newestTime(batches, loc)
			if !ok {
				return nil, map[string]any{"rows": rows, "reason": "no row has a value of " + r.Target()}, nil
			}
			age := now.Sub(newest).Seconds()
			age = math.Round(age*1e6) / 1e6
			return &age, map[string]any{"rows": rows, "newest": newest.UTC().Format(time.RFC3339Nano)}, nil
		}
	case Range, Validity:
		pred, perr := boundsPredicate(r, target, loc)
		if perr != nil {
			return nil, perr
		}
		outside, nerr := plan.NewNot(pred)
		if nerr != nil {
			return nil, nerr
		}
		present := plan.NewIsNull(target, true)
		if outside, err = plan.NewBinary(plan.And, present, outside); err != nil {
			return nil, err
		}
		agg("checked", plan.Count, nil, present)
		agg("outside", plan.Count, nil, outside)
		measure = func(row func(string) (float64, bool), _ []arrow.RecordBatch) (*float64, map[string]any, error) {
			checked, _ := row("checked")
			out, _ := row("outside")
			return share(out, checked), map[string]any{"checked": checked, "outside": out}, nil
		}
	default:
		return nil, fmt.Errorf("quality rule %s: unknown kind %q", r.Name, r.Kind)
	}
	if err != nil {
		return nil, err
	}
	root, err := plan.NewAggregate(scan, nil, aggs)
	if err != nil {
		return nil, err
	}
	return optimizedCheck(root, func(batches []arrow.RecordBatch) (*float64, map[string]any, error) {
		return measure(firstRow(batches), batches)
	})
}

// optimizedCheck optimizes a check's plan as queries are.
func optimizedCheck(root plan.Node, measure func([]arrow.RecordBatch) (*float64, map[string]any, error)) (*qualityCheck, error) {
	root, err := plan.Optimize(root, plan.DefaultRules)
	if err != nil {
		return nil, err
	}
	return &qualityCheck{plan: root, measure: measure}, nil
}

// qualityTarget is the expression a rule looks at: its dimension's, or its column.
func qualityTarget(r *QualityRule) (plan.Expr, error) {
	if r.Dimension != nil {
		return r.Dimension.Expr, nil
	}
	return r.Model.Column(r.Column)
}

// boundsPredicate is what a value within a range, or among validity's values, meets.
func boundsPredicate(r *QualityRule, target plan.Expr, loc *time.Location) (plan.Expr, error) {
	d := r.Dimension
	if d == nil {
		d = &Dimension{Model: r.Model, Name: r.Column, Expr: target}
	}
	var op FilterOp
	var values []string
	switch {
	case r.Kind == Validity:
		op, values = InList, r.Values
	case r.Min != "" && r.Max != "":
		op, values = Between, []string{r.Min, r.Max}
	case r.Min != "":
		op, values = Gte, []string{r.Min}
	default:
		op, values = Lte, []string{r.Max}
	}
	pred, err := filterPredicate(d, op, values, loc)
	if err != nil {
		return nil, err
	}
	return pred(target)
}

// uniquenessCheck counts the rows and the distinct keys: the key's groups, each row counted in
// its group, then the groups counted and their rows added up.
func (cc *compiler) uniquenessCheck(r *QualityRule) (*qualityCheck, error) {
	columns := map[string]bool{}
	for _, c := range r.Columns {
		columns[c] = true
	}
	scan, err := cc.scan(r.Model, columns)
	if err != nil {
		return nil, err
	}
	keys := make([]plan.Named, len(r.Columns))
	for i, c := range r.Columns {
		col, err := r.Model.Column(c)
		if err != nil {
			return nil, err
		}
		keys[i] = plan.Named{Name: fmt.Sprintf("key%d", i), Expr: col}
	}
	n, err := plan.NewAggExpr("n", plan.Count, nil, nil)
	if err != nil {
		return nil, err
	}
	groups, err := plan.NewAggregate(scan, keys, []plan.AggExpr{n})
	if err != nil {
		return nil, err
	}
	perKey, err := plan.ColumnOf(groups.Schema(), "n")
	if err != nil {
		return nil, err
	}
	rows, err := plan.NewAggExpr("rows", plan.Sum, perKey, nil)
	if err != nil {
		return nil, err
	}
	distinct, err := plan.NewAggExpr("keys", plan.Count, nil, nil)
	if err != nil {
		return nil, err
	}
	root, err := plan.NewAggregate(groups, nil, []plan.AggExpr{rows, distinct})
	if err != nil {
		return nil, err
	}
	return optimizedCheck(root, func(batches []arrow.RecordBatch) (*float64, map[string]any, error) {
		row := firstRow(batches)
		rows, _ := row("rows")
		keys, _ := row("keys")
		dup := rows - keys
		return &dup, map[string]any{"rows": rows, "distinct": keys}, nil
	})
}

// compileReconciliation compiles the query of both metrics — by the rule's dimension, over its
// time range — as the compiler compiles any query, each metric at its own grain.
func (c *Catalog) compileReconciliation(r *QualityRule, opts CompileOptions, now time.Time) (*qualityCheck, error) {
	q := MetricQuery{Metrics: []string{r.Metric.Name, r.Against.Name}, TimeRange: r.TimeRange.at(now)}
	if r.By != nil {
		q.Dimensions = []string{r.By.QualifiedName()}
	}
	cq, err := c.Compile(q, opts, c.FullAccess())
	if err != nil {
		return nil, err
	}
	groups := 0
	if r.By != nil {
		groups = 1
	}
	return &qualityCheck{plan: cq.Plan, measure: func(batches []arrow.RecordBatch) (*float64, map[string]any, error) {
		worst := 0.0
		detail := map[string]any{}
		var totalA, totalB float64
		n := 0
		for _, b := range batches {
			for i := 0; i < int(b.NumRows()); i++ {
				a, _ := numberAt(b.Column(groups), i)
				x, _ := numberAt(b.Column(groups+1), i)
				totalA, totalB = totalA+a, totalB+x
				d := relativeDifference(a, x)
				if n == 0 || d > worst {
					worst = d
					detail["value"], detail["against"] = a, x
					if groups > 0 {
						if b.Column(0).IsNull(i) {
							detail["group"] = nil
						} else {
							detail["group"] = FormatValue(b.Column(0), i)
						}
					}
				}
				n++
			}
		}
		if r.By != nil {
			detail["groups"] = n
		}
		return &worst, detail, nil
	}}, nil
}

// relativeDifference is |a − b| / max(|a|, |b|), and 0 when both are 0.
func relativeDifference(a, b float64) float64 {
	m := math.Max(math.Abs(a), math.Abs(b))
	if m == 0 {
		return 0
	}
	return math.Abs(a-b) / m
}

// share is part / whole, and 0 when whole is 0: nothing to measure is nothing wrong.
func share(part, whole float64) *float64 {
	v := 0.0
	if whole > 0 {
		v = part / whole
	}
	return &v
}

// firstRow reads the numbers of the first row of a one-row result by column name; a missing or
// NULL value reads as 0, false.
func firstRow(batches []arrow.RecordBatch) func(string) (float64, bool) {
	return func(name string) (float64, bool) {
		for _, b := range batches {
			if b.NumRows() == 0 {
				continue
			}
			idx := b.Schema().FieldIndices(name)
			if len(idx) != 1 {
				return 0, false
			}
			return numberAt(b.Column(idx[0]), 0)
		}
		return 0, false
	}
}

// numberAt reads row i of a numeric array as a float; NULL reads as 0, false.
func numberAt(a arrow.Array, i int) (float64, bool) {
	if a.IsNull(i) {
		return 0, false
	}
	switch x := a.(type) {
	case *array.Int8:
		return float64(x.Value(i)), true
	case *array.Int16:
		return float64(x.Value(i)), true
	case *array.Int32:
		return float64(x.Value(i)), true
	case *array.Int64:
		return float64(x.Value(i)), true
	case *array.Float32:
		return float64(x.Value(i)), true
	case *array.Float64:
		return x.Value(i), true
	case *array.Decimal128:
		return x.Value(i).ToFloat64(x.DataType().(*arrow.Decimal128Type).Scale), true
	}
	return 0, false
}

// newestTime reads the "newest" column of a freshness check: a timestamp (a time without a zone
// is a wall time in loc) or a date (its midnight in loc).
func newestTime(batches []arrow.RecordBatch, loc *time.Location) (time.Time, bool) {
	for _, b := range batches {
		if b.NumRows() == 0 {
			continue
		}
		idx := b.Schema().FieldIndices("newest")
		if len(idx) != 1 || b.Column(idx[0]).IsNull(0) {
			return time.Time{}, false
		}
		switch x := b.Column(idx[0]).(type) {
		case *array.Timestamp:
			t := x.DataType().(*arrow.TimestampType)
			us := int64(x.Value(0))
			switch t.Unit {
			case arrow.Second:
				us *= 1e6
			case arrow.Millisecond:
				us *= 1e3
			case arrow.Nanosecond:
				us /= 1e3
			}
			v := time.UnixMicro(us).UTC()
			if t.TimeZone == "" {
				v = plan.WallTime(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), loc)
			}
			return v, true
		case *array.Date32:
			d := x.Value(0).ToTime()
			return plan.WallTime(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc), true
		}
		return time.Time{}, false
	}
	return time.Time{}, false
}
