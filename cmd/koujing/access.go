package main

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// jwtSecretEnv names the variable holding the secret HS256 tokens are signed with.
const jwtSecretEnv = "KOUJING_JWT_SECRET"

// policyInDir is the name of a policy file that a definitions directory may hold beside its YAML.
const policyInDir = "policy.csv"

// demoPrincipal is who a request without credentials runs as in demo mode.
var demoPrincipal = authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}, Method: authz.MethodDemo}

// accessFlags say where the access policy lives and how requests prove who they are.
type accessFlags struct {
	policy   string
	auth     string
	jwks     string
	issuer   string
	audience string
}

func (f *accessFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.policy, "policy", "", "access policy file (Casbin CSV); created empty if missing. Default: policy.csv in the --models\ndirectory, or the demo's built-in policy (kept in memory) for the demo definitions")
	fs.StringVar(&f.auth, "auth", "", "demo: requests without credentials run as the demo user (subject demo, tenant demo, role analyst);\nrequired: they get 401. Default: demo for the demo definitions, required otherwise")
	fs.StringVar(&f.jwks, "jwks", "", "JSON Web Key Set file whose keys verify RS256 and ES256 tokens (HS256 tokens are verified with $"+jwtSecretEnv+")")
	fs.StringVar(&f.issuer, "jwt-issuer", "", "the iss claim tokens must carry (default: not checked)")
	fs.StringVar(&f.audience, "jwt-audience", "", "the aud claim tokens must carry (default: not checked)")
}

// openPolicy opens the policy store the flags name and the authorizer over it, validating every
// rule against the catalog. models is the definitions directory, "" for the demo's. The caller
// closes the authorizer.
func (f *accessFlags) openPolicy(ctx context.Context, cat *semantic.Catalog, models string) (*authz.Authorizer, error) {
	path := f.policy
	if path == "" && models != "" {
		path = filepath.Join(models, policyInDir)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, usageError("no access policy: %s does not exist; write one (see the README) or name one with --policy FILE", path)
		}
	}
	if path == "" {
		slog.Info("access policy: the demo's built-in one, in memory (--policy FILE keeps changes)")
		return demo.NewAuthorizer(ctx, cat, nil)
	}
	store, err := authz.OpenFileStore(path)
	if err != nil {
		return nil, err
	}
	slog.Info("access policy", "file", path)
	a, err := authz.NewAuthorizer(ctx, store, authz.AuthorizerOptions{
		Validate: func(p *authz.Policy) error { return semantic.CheckPolicy(cat, p) },
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

// authenticator returns how requests prove who they are: tokens signed with $KOUJING_JWT_SECRET
// or a JWKS key, API keys of the policy, and in demo mode no credentials at all.
func (f *accessFlags) authenticator(a *authz.Authorizer, demoDefinitions bool) (*authz.Authenticator, error) {
	opts := authz.AuthenticatorOptions{JWKSFile: f.jwks, Issuer: f.issuer, Audience: f.audience, APIKeys: a.LookupKey}
	if s := os.Getenv(jwtSecretEnv); s != "" {
		opts.Secret = []byte(s)
	}
	switch f.auth {
	case "demo":
		opts.Demo = &demoPrincipal
	case "":
		if demoDefinitions {
			opts.Demo = &demoPrincipal
		}
	case "required":
	default:
		return nil, usageError("--auth is demo or required, not %q", f.auth)
	}
	if opts.Demo != nil {
		slog.Info("demo mode: requests without credentials run as the demo user", "subject", demoPrincipal.Subject, "tenant", demoPrincipal.Tenant, "roles", demoPrincipal.Roles)
	}
	if opts.Secret == nil && opts.JWKSFile == "" {
		slog.Info("no " + jwtSecretEnv + " and no --jwks: bearer tokens are refused; API keys work")
	}
	return authz.NewAuthenticator(opts)
}
