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
	// Governance, when set, serves the definitions from the metadata store — the published ones,
	// gray releases to their audience, pinned versions — and audits every query; the catalog
	// given to NewService is then ignored.
	Governance *Governance
	// DBTManifest returns the dbt manifest whose jobs build the warehouse's tables, for lineage
	// to continue upstream of them; nil (or a nil result) for none. It is called for every
	// lineage graph, so that a manifest read again from its file applies at once.
	DBTManifest func() *DBTManifest
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
	memos map[memoKey]*accessMemo

	lineageOnce sync.Once
	lineage     *Lineage
}

// memoKey names the decisions of one set of grants over one catalog.
type memoKey struct {
	cat    *Catalog
	grants *authz.Grants
}

// NewService returns a service over the catalog's definitions, running queries on eng.
func NewService(cat *Catalog, eng *engine.Engine, opts ServiceOptions) *Service {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = time.Minute
	}
	return &Service{catalog: cat, engine: eng, opts: opts, memos: map[memoKey]*accessMemo{}}
}

// Catalog returns the definitions the service answers from: the published ones, when the
// service is governed.
func (s *Service) Catalog() *Catalog {
	if g := s.opts.Governance; g != nil {
		return g.Catalog()
	}
	return s.catalog
}

// Governance returns the service's governance, or nil when its definitions were read from files.
func (s *Service) Governance() *Governance { return s.opts.Governance }

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
	cat := s.catalog
	if gov := s.opts.Governance; gov != nil {
		var err error
		if cat, err = gov.CatalogFor(context.Background(), who, g.Subjects); err != nil {
			return nil, fmt.Errorf("the gray release for %s: %w", who, err)
		}
	}
	return cat.accessFor(who, g, s.memoFor(cat, g)), nil
}

// memoFor returns the remembered decisions of grants over cat.
func (s *Service) memoFor(cat *Catalog, g *authz.Grants) *accessMemo {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memoKey{cat, g}
	memo, ok := s.memos[k]
	if !ok {
		if len(s.memos) >= maxAccessMemos {
			clear(s.memos)
		}
		memo = newAccessMemo()
		s.memos[k] = memo
	}
	return memo
}

// Compile checks a query against the definitions, as acc's principal asks it, and returns its
// plan. A metric named with a version ("gmv_paid@3") is computed by that version of its
// definition, as is every metric of the query built on it.
func (s *Service) Compile(acc *Access, q MetricQuery) (*CompiledQuery, error) {
	pins, err := versionPins(q.Metrics)
	if err != nil {
		return nil, err
	}
	if len(pins) > 0 {
		if s.opts.Governance == nil {
			return nil, invalid("this server reads its definitions from files and keeps no versions; ask for metrics without @VERSION")
		}
		cat, err := s.opts.Governance.Pinned(context.Background(), acc.cat, pins)
		if err != nil {
			// Why a pin failed ("has no version 9; it has versions 1 to 1") would tell that a
			// metric the caller may not see exists: such a name gets the unknown-metric error.
			for name := range pins {
				if _, ferr := acc.FindMetric(name); ferr != nil {
					return nil, ferr
				}
			}
			return nil, err
		}
		if acc.grants != nil {
			acc = cat.accessFor(acc.who, acc.grants, s.memoFor(cat, acc.grants))
		} else {
			acc = cat.FullAccess()
		}
	}
	return acc.cat.Compile(q, s.opts.CompileOptions, acc)
}

// Query compiles and runs a query as acc's principal asks it, through the client ctx names (see
// WithClient), which the audit log records and which changes nothing of the answer. Errors are
// QueryErrors for bad or forbidden queries, and the engine's errors (engine.ErrTooManyRows,
// exec.ErrMemoryLimit, context errors) for runs that fail.
func (s *Service) Query(ctx context.Context, acc *Access, q MetricQuery) (*Result, error) {
	cq, err := s.Compile(acc, q)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	res, err := s.engine.Execute(ctx, cq.Plan)
	if g := s.opts.Governance; g != nil {
		var rows int64
		if res != nil {
			rows = res.Rows
		}
		g.RecordQuery(acc.who, ClientOf(ctx), q, cq.Versions, rows, time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Columns: cq.Columns, Batches: res.Batches, Rows: res.Rows, Versions: cq.Versions, Warnings: cq.Warnings, Cached: res.Cached}, nil
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
