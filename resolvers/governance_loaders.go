package resolvers

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// GovernanceReader reads what the governance fields need from the metadata store, a batch of keys
// at a time. As with CatalogReader, the per-request dataloaders are its only callers: each method
// is called once per batch, with every key one level of a request asked for (the reviews of all
// the change requests of a page, not of one request at a time). Results line up with keys, one
// per key, and are never modified by the caller. The change requests whose IDs are keys are ones
// the caller was allowed to see when the resolvers read them: the reader does not check again.
// Implementations must be safe for concurrent use.
type GovernanceReader interface {
	// CurrentVersions returns the version of each definition key, "kind:name@number" (the
	// number the caller's catalog serves); nil where the store has none.
	CurrentVersions(ctx context.Context, keys []string) ([]*store.Version, error)
	// Versions returns, for each definition key "kind:name", every version, oldest first.
	Versions(ctx context.Context, keys []string) ([][]store.Version, error)
	// Reviews returns, for each change request ID (decimal), its reviews, oldest first.
	Reviews(ctx context.Context, ids []string) ([][]store.Review, error)
	// Comments returns, for each change request ID (decimal), its comments, oldest first.
	Comments(ctx context.Context, ids []string) ([][]store.Comment, error)
	// Timelines returns, for each change request as "tenant/ID", its events, oldest first.
	Timelines(ctx context.Context, keys []string) ([][]store.Event, error)
	// ChangeRequests returns the change request of each ID (decimal) if the caller may see it,
	// else nil.
	ChangeRequests(ctx context.Context, ids []string) ([]*store.ChangeRequest, error)
	// ChangeRequestsOf returns, for each metric name, the change requests with an item on it
	// that the caller may see, newest first, at most 100.
	ChangeRequestsOf(ctx context.Context, metrics []string) ([][]store.ChangeRequest, error)
	// LatestQualityRuns returns the newest run of each quality rule, by name; nil for a rule
	// that never ran. The rules are ones the resolvers hold: the caller may see them, or their
	// runs only count in a score.
	LatestQualityRuns(ctx context.Context, rules []string) ([]*store.QualityRun, error)
}

// NewGovernanceReader returns the GovernanceReader over the service's metadata store, for one
// caller. A service that reads its definitions from files has no store: its reader reads nothing.
func NewGovernanceReader(svc *semantic.Service, acc *semantic.Access) GovernanceReader {
	return governanceReader{svc: svc, gov: svc.Governance(), acc: acc}
}

type governanceReader struct {
	svc *semantic.Service
	gov *semantic.Governance
	acc *semantic.Access
}

// CurrentVersions answers from the published catalog held in memory, which knows the version
// of every definition it serves: a page of 100 metrics costs no query. Only versions it does not
// serve (a gray release the caller is in the audience of) are read from the store, in one
// transaction.
func (g governanceReader) CurrentVersions(ctx context.Context, keys []string) ([]*store.Version, error) {
	out := make([]*store.Version, len(keys))
	if g.gov == nil {
		return out, nil
	}
	cat := g.gov.Catalog()
	var missing []int
	for i, k := range keys {
		kind, name, number, ok := splitVersionKey(k)
		if !ok {
			continue
		}
		if v, ok := cat.VersionOf(kind, name); ok && v.Number == number {
			out[i] = &v
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	err := g.gov.Store().View(ctx, func(tx store.Tx) error {
		for _, i := range missing {
			kind, name, number, _ := splitVersionKey(keys[i])
			vs, err := tx.Versions(store.VersionQuery{Kind: kind, Name: name})
			if err != nil {
				return err
			}
			for j := range vs {
				if vs[j].Number == number {
					out[i] = &vs[j]
				}
			}
		}
		return nil
	})
	return out, err
}

func (g governanceReader) Versions(ctx context.Context, keys []string) ([][]store.Version, error) {
	out := make([][]store.Version, len(keys))
	if g.gov == nil {
		return out, nil
	}
	err := g.gov.Store().View(ctx, func(tx store.Tx) error {
		for i, k := range keys {
			kind, name, _ := strings.Cut(k, ":")
			vs, err := tx.Versions(store.VersionQuery{Kind: store.Kind(kind), Name: name})
			if err != nil {
				return err
			}
			out[i] = vs
		}
		return nil
	})
	return out, err
}

func (g governanceReader) Reviews(ctx context.Context, ids []string) ([][]store.Review, error) {
	return perRequest(ctx, g.gov, ids, store.Tx.Reviews)
}

func (g governanceReader) Comments(ctx context.Context, ids []string) ([][]store.Comment, error) {
	return perRequest(ctx, g.gov, ids, store.Tx.Comments)
}

// perRequest reads something of each change request in one transaction.
func perRequest[V any](ctx context.Context, gov *semantic.Governance, ids []string, read func(store.Tx, int64) ([]V, error)) ([][]V, error) {
	out := make([][]V, len(ids))
	if gov == nil {
		return out, nil
	}
	err := gov.Store().View(ctx, func(tx store.Tx) error {
		for i, s := range ids {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("change request key %q is not a number", s)
			}
			if out[i], err = read(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (g governanceReader) Timelines(ctx context.Context, keys []string) ([][]store.Event, error) {
	out := make([][]store.Event, len(keys))
	if g.gov == nil {
		return out, nil
	}
	for i, k := range keys {
		tenant, id, _ := strings.Cut(k, "/")
		es, err := g.gov.Store().Events(ctx, store.EventQuery{Tenant: tenant, Object: "change_request:" + id, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out[i] = es
	}
	return out, nil
}

func (g governanceReader) ChangeRequests(ctx context.Context, ids []string) ([]*store.ChangeRequest, error) {
	out := make([]*store.ChangeRequest, len(ids))
	if g.gov == nil {
		return out, nil
	}
	for i, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		cr, err := g.gov.ChangeRequest(ctx, g.acc, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = &cr
	}
	return out, nil
}

func (g governanceReader) ChangeRequestsOf(ctx context.Context, metrics []string) ([][]store.ChangeRequest, error) {
	out := make([][]store.ChangeRequest, len(metrics))
	if g.gov == nil {
		return out, nil
	}
	for i, name := range metrics {
		crs, err := g.gov.ChangeRequests(ctx, g.acc, store.CRQuery{Kind: store.KindMetric, Name: name, Limit: maxPageSize})
		if err != nil {
			return nil, err
		}
		out[i] = crs
	}
	return out, nil
}

func (g governanceReader) LatestQualityRuns(ctx context.Context, rules []string) ([]*store.QualityRun, error) {
	out := make([]*store.QualityRun, len(rules))
	if g.gov == nil {
		return out, nil
	}
	latest, err := g.svc.LatestQualityRuns(ctx, rules)
	if err != nil {
		return nil, err
	}
	for i, name := range rules {
		if run, ok := latest[name]; ok {
			out[i] = &run
		}
	}
	return out, nil
}

// definitionKey names a definition for Versions: its semantic.Definition key, "kind:name".
func definitionKey(kind store.Kind, name string) string {
	return semantic.Definition{Kind: kind, Name: name}.Key()
}

// versionKey names a version of a definition for CurrentVersions.
func versionKey(kind store.Kind, name string, number int) string {
	return definitionKey(kind, name) + "@" + strconv.Itoa(number)
}

func splitVersionKey(k string) (store.Kind, string, int, bool) {
	kindName, num, ok := strings.Cut(k, "@")
	kind, name, ok2 := strings.Cut(kindName, ":")
	n, err := strconv.Atoi(num)
	return store.Kind(kind), name, n, ok && ok2 && err == nil
}

// governanceLoaders are one request's dataloaders over its GovernanceReader, made per request
// like loaders, for the same reasons.
type governanceLoaders struct {
	currentVersion   *dataloader.Loader[string, *store.Version]
	versions         *dataloader.Loader[string, []store.Version]
	reviews          *dataloader.Loader[string, []store.Review]
	comments         *dataloader.Loader[string, []store.Comment]
	timeline         *dataloader.Loader[string, []store.Event]
	changeRequest    *dataloader.Loader[string, *store.ChangeRequest]
	changeRequestsOf *dataloader.Loader[string, []store.ChangeRequest]
	latestQualityRun *dataloader.Loader[string, *store.QualityRun]
}

func newGovernanceLoaders(r GovernanceReader, wait time.Duration, log *slog.Logger) *governanceLoaders {
	return &governanceLoaders{
		currentVersion:   newLoader(r.CurrentVersions, wait, log),
		versions:         newLoader(r.Versions, wait, log),
		reviews:          newLoader(r.Reviews, wait, log),
		comments:         newLoader(r.Comments, wait, log),
		timeline:         newLoader(r.Timelines, wait, log),
		changeRequest:    newLoader(r.ChangeRequests, wait, log),
		changeRequestsOf: newLoader(r.ChangeRequestsOf, wait, log),
		latestQualityRun: newLoader(r.LatestQualityRuns, wait, log),
	}
}

// governanceLoadersFor returns the request's governance dataloaders.
func governanceLoadersFor(ctx context.Context) *governanceLoaders { return loadersFor(ctx).governance }
