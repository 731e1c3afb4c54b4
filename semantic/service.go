package semantic

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/plan"
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	CompileOptions
	// QueryTimeout bounds each query; zero means one minute.
	QueryTimeout time.Duration
	// Authorizer decides what each principal may see and do. Without one, Access refuses every
	// principal and only the catalog's FullAccess can be used.
	Authorizer *authz.Authorizer
}

// maxAccessMemos bounds the remembered decision sets; past it the service starts afresh.
const maxAccessMemos = 10_000

// Service answers metric queries over one catalog with one engine. Every surface — GraphQL, SQL,
// MCP, the command line — asks it, so all of them compute every number the same way. It is safe
// for concurrent use.
type Service struct {
	catalog *Catalog
	engine  *engine.Engine
	opts    ServiceOptions

	mu    sync.Mutex
	memos map[*authz.Grants]*accessMemo
}

// NewService returns a service over the catalog's definitions, running queries on eng.
func NewService(cat *Catalog, eng *engine.Engine, opts ServiceOptions) *Service {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = time.Minute
	}
	return &Service{catalog: cat, engine: eng, opts: opts, memos: map[*authz.Grants]*accessMemo{}}
}

// Catalog returns the definitions the service answers from.
func (s *Service) Catalog() *Catalog { return s.catalog }

// Authorizer returns the service's authorizer, or nil.
func (s *Service) Authorizer() *authz.Authorizer { return s.opts.Authorizer }

// Access returns the catalog as the principal may see and use it, under the current policy.
func (s *Service) Access(who *authz.Principal) (*Access, error) {
	if err := who.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", authz.ErrForbidden, err)
	}
	if s.opts.Authorizer == nil {
		return nil, fmt.Errorf("%w: the server has no access policy", authz.ErrForbidden)
	}
	g := s.opts.Authorizer.Grants(who)
	s.mu.Lock()
	memo, ok := s.memos[g]
	if !ok {
		if len(s.memos) >= maxAccessMemos {
			clear(s.memos)
		}
		memo = newAccessMemo()
		s.memos[g] = memo
	}
	s.mu.Unlock()
	return s.catalog.accessFor(who, g, memo), nil
}

// Compile checks a query against the definitions, as acc's principal asks it, and returns its
// plan.
func (s *Service) Compile(acc *Access, q MetricQuery) (*CompiledQuery, error) {
	return s.catalog.Compile(q, s.opts.CompileOptions, acc)
}

// Query compiles and runs a query as acc's principal asks it. Errors are QueryErrors for bad
// or forbidden queries, and the engine's errors (engine.ErrTooManyRows, exec.ErrMemoryLimit,
// context errors) for runs that fail.
func (s *Service) Query(ctx context.Context, acc *Access, q MetricQuery) (*Result, error) {
	cq, err := s.Compile(acc, q)
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
func (s *Service) Explain(acc *Access, q MetricQuery) (*Explanation, error) {
	cq, err := s.Compile(acc, q)
	if err != nil {
		return nil, err
	}
	ex, err := s.engine.Explain(cq.Plan)
	if err != nil {
		return nil, err
	}
	return &Explanation{Logical: plan.Format(cq.Plan), Physical: ex.Plan, Statements: ex.Statements}, nil
}
