// Package plan holds Koujing's logical plans: immutable trees of relational nodes (scan, filter,
// project, join, aggregate, lookup, sort, limit) over typed scalar expressions, and the calendars
// that time expressions truncate and shift in.
//
// The semantic compiler builds these trees from metric queries; the engine turns them into
// vectorised operators, or, when one PostgreSQL-compatible source holds every table, into one SQL
// statement. Nothing here executes anything.
//
// Every constructor checks its input: column references must name a column of the child's schema
// and operand types must fit. A plan that was built is therefore well-typed, and the executor
// does not check types again. Column names are qualified by the scan's alias ("orders.amount").
package plan
