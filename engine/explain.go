package engine

import (
	"fmt"
	"strings"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
)

// Explanation says how the engine would run a plan: which parts run in the engine and which a
// warehouse runs, with the statements it would send.
type Explanation struct {
	// Plan is the plan as it would run: the logical tree, with each part a warehouse runs
	// replaced by a line naming the warehouse and the statement.
	Plan string
	// Statements are the SQL statements the warehouses would run, in the order the plan lists
	// them.
	Statements []ExplainedStatement
}

// ExplainedStatement is one statement a warehouse would run.
type ExplainedStatement struct {
	Connection string
	SQL        string
	// Params are the bind parameters $1, $2, …, as constants.
	Params []string
}

// Explain returns how the engine would run root, without running it.
func (e *Engine) Explain(root plan.Node) (*Explanation, error) {
	b := &builder{engine: e}
	var sb strings.Builder
	if err := b.describe(&sb, root, 0); err != nil {
		return nil, err
	}
	return &Explanation{Plan: sb.String(), Statements: b.statements}, nil
}

// describe prints n as build would run it.
func (b *builder) describe(sb *strings.Builder, n plan.Node, depth int) error {
	indent := strings.Repeat("  ", depth)
	if conn := b.warehouseOf(n); conn != nil {
		if stmt, err := postgres.BuildSQL(n); err == nil {
			b.statements = append(b.statements, ExplainedStatement{Connection: conn.Name(), SQL: stmt.SQL, Params: paramTexts(stmt.Params)})
			fmt.Fprintf(sb, "%sWarehouse %s runs statement %d: %s\n", indent, conn.Name(), len(b.statements), n)
			return nil
		} else if _, isScan := n.(*plan.Scan); isScan {
			return fmt.Errorf("read %s from %s: %w", n.(*plan.Scan).Table, conn.Name(), err)
		}
	}
	sb.WriteString(indent + n.String() + "\n")
	for _, c := range n.Children() {
		if err := b.describe(sb, c, depth+1); err != nil {
			return err
		}
	}
	return nil
}
