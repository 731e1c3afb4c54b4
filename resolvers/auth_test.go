package resolvers

import (
	"context"
	"testing"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// testSecret signs the tokens tests make to act as the demo's roles.
var testSecret = []byte("koujing resolvers tests sign their tokens with this")

// newService returns a service over cat whose access policy is the demo's, kept in memory, unless
// opts names another authorizer.
func newService(cat *semantic.Catalog, eng *engine.Engine, opts semantic.ServiceOptions) (*semantic.Service, error) {
	if opts.Authorizer == nil {
		a, err := demo.NewAuthorizer(context.Background(), cat, quietLogger())
		if err != nil {
			return nil, err
		}
		opts.Authorizer = a
	}
	return semantic.NewService(cat, eng, opts), nil
}

// mustService is newService for one test.
func mustService(t testing.TB, cat *semantic.Catalog, eng *engine.Engine, opts semantic.ServiceOptions) *semantic.Service {
	t.Helper()
	svc, err := newService(cat, eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// demoUser is who requests without credentials run as in demo mode, as `koujing serve` runs the
// demo.
var demoUser = authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}}

// demoAuthenticator verifies tokens signed with testSecret and the API keys of svc's policy, and
// runs requests without credentials as demoUser.
func demoAuthenticator(t testing.TB, svc *semantic.Service) *authz.Authenticator {
	t.Helper()
	demoCopy := demoUser
	a, err := authz.NewAuthenticator(authz.AuthenticatorOptions{Secret: testSecret, APIKeys: svc.Authorizer().LookupKey, Demo: &demoCopy})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tokenFor signs a token for a subject of a tenant with roles and extra claims, valid for an hour.
func tokenFor(t testing.TB, sub, tenant string, roles []string, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"sub": sub, "tenant": tenant, "roles": roles, "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok, err := authz.SignToken(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// requiredAuthenticator verifies tokens signed with testSecret, outside demo mode: requests
// without credentials are refused.
func requiredAuthenticator(t testing.TB) *authz.Authenticator {
	t.Helper()
	a, err := authz.NewAuthenticator(authz.AuthenticatorOptions{Secret: testSecret, APIKeys: fixture.demo.Authorizer().LookupKey})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signWithoutTenant signs a token that names no tenant.
func signWithoutTenant() (string, error) {
	return authz.SignToken(testSecret, map[string]any{"sub": "bob", "roles": []string{"analyst"}, "exp": time.Now().Add(time.Hour).Unix()})
}
