package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// jwtSecretEnv names the variable holding the secret HS256 tokens are signed with.
const jwtSecretEnv = "KOUJING_JWT_SECRET"

// policyURLEnv names the variable holding the URL of the policy's database when --policy-url
// is not given.
const policyURLEnv = "KOUJING_POLICY_URL"

// policyPoolSize is the most connections to the policy's database a process holds: it reads the
// policy at start and on change and writes one change at a time. Watch adds one of its own.
const policyPoolSize = 4

// seedActor is who the audit log says seeded a new store.
const seedActor = "koujing@seed"

// policyInDir is the name of a policy file that a definitions directory may hold beside its YAML.
const policyInDir = "policy.csv"

// demoPrincipal is who a request without credentials runs as in demo mode.
var demoPrincipal = authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}, Method: authz.MethodDemo}

// accessFlags say where the access policy lives and how requests prove who they are.
type accessFlags struct {
	policy string
	// policyURL and policySchema name the PostgreSQL database and schema of the policy; check
	// fills policyURL from $KOUJING_POLICY_URL when the flag is absent.
	policyURL    string
	policySchema string
	auth         string
	jwks         string
	issuer       string
	audience     string
	// changed, when set, is told of every policy change this process stores: the governance
	// audit log records them.
	changed func(authz.AuditRecord)
}

func (f *accessFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.policy, "policy", "", "access policy file (Casbin CSV); created empty if missing. Default: policy.csv in the --models\ndirectory, or the demo's built-in policy (kept in memory) for the demo definitions. Not with --policy-url")
	fs.StringVar(&f.policyURL, "policy-url", "", "PostgreSQL URL of the database holding the access policy, API keys and their audit log, which\nreplicas share and watch for each other's changes (default $"+policyURLEnv+"; the flag wins over it).\nNot with --policy. A new store is seeded with policy.csv in the --models directory, or with the demo's\npolicy when serving the demo definitions. Connecting gives up after the URL's connect_timeout, or 10s")
	fs.StringVar(&f.policySchema, "policy-schema", "public", "schema of the --policy-url database holding the policy's tables, created if missing")
	fs.StringVar(&f.auth, "auth", "", "demo: requests without credentials run as the demo user (subject demo, tenant demo, role analyst);\nrequired: they get 401. Default: demo for the demo definitions, required otherwise")
	fs.StringVar(&f.jwks, "jwks", "", "JSON Web Key Set file whose keys verify RS256 and ES256 tokens (HS256 tokens are verified with $"+jwtSecretEnv+")")
	fs.StringVar(&f.issuer, "jwt-issuer", "", "the iss claim tokens must carry (default: not checked)")
	fs.StringVar(&f.audience, "jwt-audience", "", "the aud claim tokens must carry (default: not checked)")
}

// check reads $KOUJING_POLICY_URL when --policy-url is absent and refuses flags that contradict
// each other. Commands call it right after parsing, before loading anything.
func (f *accessFlags) check() error {
	fromEnv := false
	if f.policyURL == "" {
		f.policyURL, fromEnv = os.Getenv(policyURLEnv), true
	}
	switch {
	case f.policy != "" && f.policyURL != "" && fromEnv:
		return usageError("--policy names a policy file but $%s names a policy database; unset %s to use the file", policyURLEnv, policyURLEnv)
	case f.policy != "" && f.policyURL != "":
		return usageError("give --policy FILE or --policy-url URL, not both: the policy lives in one place")
	case f.policySchema == "":
		return usageError("--policy-schema cannot be empty; the default is public")
	}
	return nil
}

// openPolicy opens the policy store the flags name and the authorizer over it, validating every
// rule against the catalog. models is the definitions directory, "" for the demo's. The caller
// calls closePolicy when done, which closes the authorizer and then what the store used.
func (f *accessFlags) openPolicy(ctx context.Context, catalog func() *semantic.Catalog, models string) (a *authz.Authorizer, closePolicy func(), err error) {
	if f.policyURL != "" {
		return f.openPolicyDatabase(ctx, catalog, models)
	}
	a, err = f.openPolicyFile(ctx, catalog, models)
	if err != nil {
		return nil, nil, err
	}
	warnIfEmpty(a, "the policy file")
	return a, func() { a.Close() }, nil
}

// openPolicyFile opens the policy file the flags name, or the demo's policy in memory.
func (f *accessFlags) openPolicyFile(ctx context.Context, catalog func() *semantic.Catalog, models string) (*authz.Authorizer, error) {
	path := f.policy
	if path == "" && models != "" {
		path = filepath.Join(models, policyInDir)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, usageError("no access policy: %s does not exist; write one (see the README) or name one with --policy FILE", path)
		}
	}
	if path == "" {
		slog.Info("access policy: the demo's built-in one, in memory (--policy FILE keeps changes)")
		st, err := authz.ParsePolicyFile(demo.PolicyFile, demo.Policy)
		if err != nil {
			return nil, err
		}
		return newAuthorizer(ctx, catalog, authz.NewMemoryStore(st), f.changed)
	}
	store, err := authz.OpenFileStore(path)
	if err != nil {
		return nil, err
	}
	slog.Info("access policy", "file", path)
	return newAuthorizer(ctx, catalog, store, f.changed)
}

// newAuthorizer returns the authorizer over store, which it owns from then on, validating every
// rule against the catalog and telling changed (when not nil) of each change it stores. It
// closes the store if it fails.
func newAuthorizer(ctx context.Context, catalog func() *semantic.Catalog, store authz.Store, changed func(authz.AuditRecord)) (*authz.Authorizer, error) {
	a, err := authz.NewAuthorizer(ctx, store, authz.AuthorizerOptions{
		Validate: func(p *authz.Policy) error { return semantic.CheckPolicy(catalog(), p) },
		Changed:  changed,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

// openPolicyDatabase opens the policy store in the PostgreSQL database --policy-url names, seeds
// it if it is new (see seedPolicy), and returns the authorizer over it. Connecting is bounded by
// the URL's connect_timeout, or 10s.
func (f *accessFlags) openPolicyDatabase(ctx context.Context, catalog func() *semantic.Catalog, models string) (*authz.Authorizer, func(), error) {
	cfg, err := pgxpool.ParseConfig(f.policyURL)
	if err != nil {
		// pgconn's ParseConfigError hides the password.
		return nil, nil, usageError("--policy-url: %v", err)
	}
	cfg.MaxConns = policyPoolSize
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	cfg.MinIdleConns = min(cfg.MinIdleConns, cfg.MaxConns)
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = postgres.DefaultConnectTimeout
	}
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "koujing authz"
	}
	where := fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("the access policy at %s: %w", where, err)
	}
	a, err := openPolicyStore(ctx, catalog, pool, f.policySchema, models, f.changed)
	if err != nil {
		pool.Close()
		if errors.Is(err, authz.ErrStoreUnavailable) {
			return nil, nil, fmt.Errorf("the access policy at %s: %w (is the server up, and --policy-url or $%s right?)", where, err, policyURLEnv)
		}
		return nil, nil, fmt.Errorf("the access policy at %s: %w", where, err)
	}
	slog.Info("access policy", "database", where, "schema", f.policySchema)
	warnIfEmpty(a, fmt.Sprintf("the database at %s, schema %s,", where, f.policySchema))
	return a, func() {
		// The store stops watching before the pool whose settings it watches with goes.
		a.Close()
		pool.Close()
	}, nil
}

// openPolicyStore opens the store in schema, seeds it when it is new, and returns the authorizer
// over it. models is the definitions directory, "" for the demo's. It leaves pool open.
func openPolicyStore(ctx context.Context, catalog func() *semantic.Catalog, pool *pgxpool.Pool, schema, models string, changed func(authz.AuditRecord)) (*authz.Authorizer, error) {
	store, err := authz.OpenPostgresStore(ctx, pool, authz.PostgresStoreOptions{Schema: schema})
	if err != nil {
		return nil, err
	}
	if err := seedPolicy(ctx, catalog, store, models); err != nil {
		store.Close()
		return nil, err
	}
	return newAuthorizer(ctx, catalog, store, changed)
}

// seedPolicy fills a new store, rule by rule and audited, with the demo's policy when serving the
// demo definitions, or with the policy.csv beside other definitions when there is one — the
// policy as code that a team keeps with its definitions — so that a server on a new database
// answers as it would from the file rather than to nobody. Replicas starting together seed it
// once (see authz.PostgresStore.Seed).
func seedPolicy(ctx context.Context, catalog func() *semantic.Catalog, store *authz.PostgresStore, models string) error {
	name, data := demo.PolicyFile, demo.Policy
	if models != "" {
		name = filepath.Join(models, policyInDir)
		var err error
		if data, err = os.ReadFile(name); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
	}
	st, err := authz.ParsePolicyFile(name, data)
	if err != nil {
		return err
	}
	// Nothing is stored that the server would then refuse to start with.
	if err := semantic.CheckPolicy(catalog(), authz.NewPolicy(st)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	changes := make([]authz.Change, len(st.Rules))
	for i, r := range st.Rules {
		changes[i] = authz.Change{Op: authz.AddRule, Rule: r, Audit: authz.AuditRecord{Actor: seedActor}}
	}
	seeded, err := store.Seed(ctx, changes)
	if err != nil {
		return fmt.Errorf("seed the policy store with %s: %w", name, err)
	}
	if seeded {
		slog.Info("the policy store was new: seeded it", "from", name, "rules", len(changes), "actor", seedActor)
	}
	return nil
}

// warnIfEmpty says so when the policy has no rules: every request is then refused everything,
// which looks like a broken server rather than a policy to write.
func warnIfEmpty(a *authz.Authorizer, where string) {
	if len(a.Policy().State().Rules) > 0 {
		return
	}
	slog.Warn("the access policy in " + where + " is empty: every request will see nothing, and nobody may change the policy " +
		"over the API until a rule grants the admin action on policy:TENANT, such as: p, admin, TENANT, *, *, allow")
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
