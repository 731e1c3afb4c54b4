package semantic

import (
	"context"
	"time"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/plan"
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	CompileOptions
	// QueryTimeout bounds each query; zero means one minute.
	QueryTimeout time.Duration
}

// Service answers metric queries over one catalog with one engine. Every surface — GraphQL, SQL,
// MCP, the command line — asks it, so all of them compute every number the same way. It is safe
// for concurrent use.
type Service struct {
	catalog *Catalog
	engine  *engine.Engine
	opts    ServiceOptions
}

// NewService returns a service over the catalog's definitions, running queries on eng.
func NewService(cat *Catalog, eng *engine.Engine, opts ServiceOptions) *Service {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = time.Minute
	}
	return &Service{catalog: cat, engine: eng, opts: opts}
}

// Catalog returns the definitions the service answers from.
func (s *Service) Catalog() *Catalog { return s.catalog }

// Compile checks a query against the definitions and returns its plan.
func (s *Service) Compile(q MetricQuery) (*CompiledQuery, error) {
	return s.catalog.Compile(q, s.opts.CompileOptions)
}

// Query compiles and runs a query. Errors are QueryErrors for bad queries, and the engine's
// errors (engine.ErrTooManyRows, exec.ErrMemoryLimit, context errors) for runs that fail.
func (s *Service) Query(ctx context.Context, q MetricQuery) (*Result, error) {
	cq, err := s.Compile(q)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	res, err := s.engine.Execute(ctx, cq.Plan)
	if err != nil {
		return nil, err
	}
	return &Result{Columns: cq.Columns, Batches: res.Batches, Rows: res.Rows}, nil
}

// Explanation says how a query would be answered.
type Explanation struct {
	// Logical is the compiled plan, as an indented tree.
	Logical string
	// Physical is the plan as it would run, with each part a warehouse runs replaced by the
	// statement it runs; Statements lists those statements with their parameters.
	Physical   string
	Statements []engine.ExplainedStatement
}

// Explain returns how a query would be answered, without running it.
func (s *Service) Explain(q MetricQuery) (*Explanation, error) {
	cq, err := s.Compile(q)
	if err != nil {
		return nil, err
	}
	ex, err := s.engine.Explain(cq.Plan)
	if err != nil {
		return nil, err
	}
	return &Explanation{Logical: plan.Format(cq.Plan), Physical: ex.Plan, Statements: ex.Statements}, nil
}
