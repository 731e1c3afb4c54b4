package demo

import (
	"context"
	"log/slog"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// NewAuthorizer returns an authorizer over the demo's policy, kept in memory (changes last as
// long as the authorizer), every rule checked against cat. logger may be nil.
func NewAuthorizer(ctx context.Context, cat *semantic.Catalog, logger *slog.Logger) (*authz.Authorizer, error) {
	return NewAuthorizerFor(ctx, func() *semantic.Catalog { return cat }, logger)
}

// NewAuthorizerFor is NewAuthorizer for definitions that change while it serves: every rule is
// checked against the catalog current returns at the time.
func NewAuthorizerFor(ctx context.Context, current func() *semantic.Catalog, logger *slog.Logger) (*authz.Authorizer, error) {
	st, err := authz.ParsePolicyFile(PolicyFile, Policy)
	if err != nil {
		return nil, err
	}
	return authz.NewAuthorizer(ctx, authz.NewMemoryStore(st), authz.AuthorizerOptions{
		Validate: func(p *authz.Policy) error { return semantic.CheckPolicy(current(), p) },
		Logger:   logger,
	})
}
