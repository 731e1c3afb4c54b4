package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
)

// listFlag collects a repeatable flag; each use may also hold a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// rawListFlag collects a repeatable flag without splitting its values.
type rawListFlag []string

func (l *rawListFlag) String() string     { return strings.Join(*l, "; ") }
func (l *rawListFlag) Set(v string) error { *l = append(*l, v); return nil }

// cliClient is the client `koujing query` is audited as, when it reads a governed store.
const cliClient = "koujing-cli"

// runQuery answers one metric query from the command line.
func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("query", "--metric NAME [--by MODEL.DIMENSION] [flags]", stderr)
	var rt runtimeFlags
	rt.register(fs)
	var af accessFlags
	af.register(fs)
	token := fs.String("token", "", "answer as the principal of this token or API key would be answered, under the access policy\n(default: with full access, as whoever can read the definitions and data)")
	var metrics, dims listFlag
	var filters, orders rawListFlag
	fs.Var(&metrics, "metric", "metric to compute (repeat, or separate with commas)")
	fs.Var(&dims, "by", "dimension to group by, as model.dimension (repeat, or separate with commas)")
	timeDim := fs.String("time", "", "time dimension and granularity, as model.dimension:month")
	from := fs.String("from", "", "start of the time range, included (2024-01-01 or an RFC 3339 time)")
	to := fs.String("to", "", "end of the time range, excluded")
	fs.Var(&filters, "filter", `filter as "model.dimension operator value[,value…]", e.g. "orders.channel in app,web" (repeat)`)
	fs.Var(&orders, "order", "output column to order by; prefix - for descending (repeat)")
	limit := fs.Int64("limit", -1, "most rows to return (default: all)")
	offset := fs.Int64("offset", 0, "rows to skip")
	tz := fs.String("tz", "", "time zone of this query (default: --timezone)")
	format := fs.String("format", "table", "output format: table, csv or json")
	explain := fs.Bool("explain", false, "print the plan instead of running the query")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q; flags go before nothing else", fs.Arg(0))
	}
	if len(metrics) == 0 {
		return usageError("name at least one metric with --metric")
	}
	if err := af.check(); err != nil {
		return err
	}
	q := semantic.MetricQuery{Metrics: metrics, Dimensions: dims, Offset: *offset, Timezone: *tz}
	if *limit >= 0 {
		q.Limit = limit
	}
	if *timeDim != "" {
		d, g, ok := strings.Cut(*timeDim, ":")
		if !ok {
			return usageError("--time takes model.dimension:granularity, e.g. orders.created_at:month")
		}
		q.TimeDimension = &semantic.TimeGrouping{Dimension: d, Granularity: g}
	}
	if *from != "" || *to != "" {
		q.TimeRange = &semantic.TimeRange{From: *from, To: *to}
	}
	for _, f := range filters {
		qf, err := parseFilterFlag(f)
		if err != nil {
			return err
		}
		q.Filters = append(q.Filters, qf)
	}
	for _, o := range orders {
		q.OrderBy = append(q.OrderBy, semantic.OrderBy{Field: strings.TrimPrefix(o, "-"), Desc: strings.HasPrefix(o, "-")})
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return usageError("unknown format %q; use table, csv or json", *format)
	}
	r, err := rt.load(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	acc, err := accessOfToken(ctx, r, &af, rt.models, *token)
	if err != nil {
		return err
	}
	if *explain {
		ex, err := r.service.Explain(acc, q)
		if err != nil {
			return err
		}
		return writeExplanation(stdout, ex)
	}
	res, err := r.service.Query(semantic.WithClient(ctx, cliClient), acc, q)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the query ran longer than --query-timeout %v: %w", rt.queryTimeout, err)
	}
	if err != nil {
		return err
	}
	defer res.Release()
	switch *format {
	case "json":
		if err := res.WriteJSONRows(stdout); err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout)
		return err
	case "csv":
		return writeCSV(stdout, res)
	}
	return writeTable(stdout, res)
}

// accessOfToken returns the access of the principal a token or API key names, under the policy
// the access flags name; no token is full access, as a command run by the operator.
func accessOfToken(ctx context.Context, r *layer, af *accessFlags, models, token string) (*semantic.Access, error) {
	if token == "" {
		return r.catalog.FullAccess(), nil
	}
	a, closePolicy, err := af.openPolicy(ctx, r.service.Catalog, models)
	if err != nil {
		return nil, err
	}
	defer closePolicy()
	af.auth = "required"
	authn, err := af.authenticator(a, false)
	if err != nil {
		return nil, err
	}
	who, err := authn.AuthenticateToken(token)
	if err != nil {
		return nil, err
	}
	r.authorize(a)
	return r.service.Access(who)
}

// writeExplanation prints the logical plan, the plan as it runs and every warehouse statement.
func writeExplanation(w io.Writer, ex *semantic.Explanation) error {
	var b strings.Builder
	b.WriteString("Logical plan:\n" + indentLines(ex.Logical))
	if ex.Physical != ex.Logical {
		b.WriteString("\nAs it runs:\n" + indentLines(ex.Physical))
	}
	for i, st := range ex.Statements {
		fmt.Fprintf(&b, "\nStatement %d, on %s:\n%s\n", i+1, st.Connection, indentLines(st.SQL))
		for j, p := range st.Params {
			fmt.Fprintf(&b, "  $%d = %s\n", j+1, p)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func indentLines(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return "  " + strings.Join(lines, "\n  ") + "\n"
}

// parseFilterFlag reads "model.dimension operator value[,value…]".
func parseFilterFlag(s string) (semantic.QueryFilter, error) {
	fields := strings.SplitN(strings.TrimSpace(s), " ", 3)
	if len(fields) < 2 {
		return semantic.QueryFilter{}, usageError(`--filter %q: write "model.dimension operator value", e.g. "orders.channel equals app"`, s)
	}
	f := semantic.QueryFilter{Dimension: fields[0], Op: semantic.FilterOp(fields[1])}
	if len(fields) == 3 {
		for _, v := range strings.Split(fields[2], ",") {
			f.Values = append(f.Values, strings.TrimSpace(v))
		}
	}
	return f, nil
}

// cells returns the result's header and rows as text.
func cells(res *semantic.Result) (header []string, rows [][]string) {
	for _, c := range res.Columns {
		header = append(header, c.Name)
	}
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]string, b.NumCols())
			for j, c := range b.Columns() {
				row[j] = semantic.FormatValue(c, i)
			}
			rows = append(rows, row)
		}
	}
	return header, rows
}

func writeCSV(w io.Writer, res *semantic.Result) error {
	header, rows := cells(res)
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// displayValue formats a metric's float value for people, as the metric's format asks:
// currency to two decimals, percent as a percentage, other ratios to four decimals. CSV and JSON
// keep the exact value.
func displayValue(c semantic.OutputColumn, text string) string {
	if c.Metric == nil || text == "" || c.Type.ID() != arrow.FLOAT64 {
		return text
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return text
	}
	switch c.Metric.Format {
	case "currency":
		return strconv.FormatFloat(v, 'f', 2, 64)
	case "percent":
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// writeTable prints an aligned table: numbers to the right, text to the left, NULL as "∅".
func writeTable(w io.Writer, res *semantic.Result) error {
	header, rows := cells(res)
	for _, r := range rows {
		for j, v := range r {
			r[j] = displayValue(res.Columns[j], v)
		}
	}
	numeric := make([]bool, len(res.Columns))
	widths := make([]int, len(header))
	for j, h := range header {
		numeric[j] = plan.IsNumeric(res.Columns[j].Type)
		widths[j] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for j, v := range r {
			if v == "" {
				r[j] = "∅"
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(r[j]))
		}
	}
	var b strings.Builder
	line := func(vals []string) {
		for j, v := range vals {
			if j > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(v))
			if numeric[j] {
				b.WriteString(pad + v)
			} else if j == len(vals)-1 {
				b.WriteString(v)
			} else {
				b.WriteString(v + pad)
			}
		}
		b.WriteString("\n")
	}
	line(header)
	rule := make([]string, len(header))
	for j := range rule {
		rule[j] = strings.Repeat("-", widths[j])
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
	fmt.Fprintf(&b, "(%d rows)\n", len(rows))
	_, err := io.WriteString(w, b.String())
	return err
}
