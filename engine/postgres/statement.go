// Package postgres is Koujing's PostgreSQL source: it compiles logical plans into SQL that
// PostgreSQL-compatible warehouses run, reads the results into Arrow over the binary protocol,
// introspects tables, and loads Arrow tables into PostgreSQL.
package postgres

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// Statement is one SQL statement for PostgreSQL and its bind parameters. Every value a user
// supplied is a parameter; the SQL text only ever holds identifiers (quoted) and fixed keywords.
type Statement struct {
	// SQL is the statement's text, with parameters written $1, $2, ….
	SQL string
	// Params are the parameters in order, as plan literals: their Go values and Arrow types say
	// how they are sent (see plan.Literal).
	Params []*plan.Literal
	// Schema is the rows the statement returns: the plan node's schema, column for column.
	Schema *arrow.Schema
}
