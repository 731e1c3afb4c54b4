package demo

import (
	"context"
	"log/slog"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// Governed is the demo served from a metadata store, as koujing serve runs it with --store.
type Governed struct {
	Service    *semantic.Service
	Governance *semantic.Governance
	Store      store.Store
}

// OpenGoverned serves the demo's definitions from the SQLite metadata store at path (in memory
// when ""), importing them when it is new, under the demo's policy, answering with eng over the
// tables of src. logger may be nil. Close it when done.
func OpenGoverned(ctx context.Context, path string, src *engine.Sources, eng *engine.Engine, logger *slog.Logger) (*Governed, error) {
	defs, err := semantic.SplitDefinitions(FS)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	gov, err := semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(src), Logger: logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	a, err := NewAuthorizerFor(ctx, gov.Catalog, logger)
	if err != nil {
		gov.Close()
		st.Close()
		return nil, err
	}
	svc := semantic.NewService(gov.Catalog(), eng, semantic.ServiceOptions{Authorizer: a, Governance: gov})
	return &Governed{Service: svc, Governance: gov, Store: st}, nil
}

// Close stops the governance, flushing its audit, and closes the store.
func (g *Governed) Close() {
	g.Governance.Close()
	g.Store.Close()
}
