package authz_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/koujing/koujing/authz"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	testNow     = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
)

func fixedNow() time.Time { return testNow }

// aliceClaims are the claims of a valid token for alice of tenant demo.
func aliceClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "alice", "tenant": "demo", "roles": []any{"analyst", "east_sales"},
		"region": "east", "regions": []any{"east", "north"},
		"iss": "https://id.example.com", "aud": "koujing", "jti": "t-1",
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(time.Hour).Unix(),
	}
}

// aliceWith is aliceClaims with claims changed; a nil value removes the claim.
func aliceWith(kv ...any) jwt.MapClaims { return jwt.MapClaims(with(aliceClaims(), kv...)) }

// alice is the principal aliceClaims name, changed by edit.
func alice(edit func(p *authz.Principal)) *authz.Principal {
	p := &authz.Principal{
		Subject: "alice", Tenant: "demo", Roles: []string{"analyst", "east_sales"},
		Attributes: map[string]any{"region": "east", "regions": []any{"east", "north"}},
		Method:     authz.MethodJWT,
	}
	if edit != nil {
		edit(p)
	}
	return p
}

// signHeader signs claims with key, adding header members to the token's header.
func signHeader(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signAsym signs claims with an RSA or EC key, naming kid in the header unless it is empty.
func signAsym(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	header := map[string]any{}
	if kid != "" {
		header["kid"] = kid
	}
	return signHeader(t, method, key, header, claims)
}

// signHS signs claims with any bytes as an HMAC key, unlike SignToken, which refuses weak ones.
func signHS(t testing.TB, method jwt.SigningMethod, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	return signHeader(t, method, key, nil, claims)
}

// handBuilt writes a token from its header, payload and signature as given.
func handBuilt(header, payload string, sig []byte) string {
	return b64([]byte(header)) + "." + b64([]byte(payload)) + "." + b64(sig)
}

// testAuthenticator is the authenticator of the JWT tests: the test secret, and a JWKS file with
// two RSA keys (r1, r2) and two EC keys (e1, e2), changed by edit.
func testAuthenticator(t testing.TB, edit func(o *authz.AuthenticatorOptions)) *authz.Authenticator {
	t.Helper()
	keys := testAuthnKeys()
	opts := authz.AuthenticatorOptions{
		Secret:   testSecret,
		JWKSFile: writeJWKS(t, rsaJWK("r1", keys.rsa), rsaJWK("r2", keys.rsa2), ecJWK("e1", keys.ec), ecJWK("e2", keys.ec2)),
		Now:      fixedNow,
	}
	if edit != nil {
		edit(&opts)
	}
	a, err := authz.NewAuthenticator(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthenticateJWT(t *testing.T) {
	keys := testAuthnKeys()
	pubDER, err := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs256, err := authz.SignToken(testSecret, aliceClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(hs256, ".")
	tampered := parts[0] + "." + b64([]byte(mustJSON(t, aliceWith("tenant", "acme")))) + "." + parts[2]
	jwksOnly := func(o *authz.AuthenticatorOptions) { o.Secret = nil }
	const (
		badSignature = "unauthenticated: the token's signature does not verify: it was altered, or signed with a key this server does not trust"
		rolesMsg     = `unauthenticated: the token's roles claim is not a JSON array of role names, such as ["analyst"]`
		malformed    = "unauthenticated: the token is not a well-formed JWT (%s); send it exactly as issued: three base64url parts separated by dots"
	)
	cases := []struct {
		name  string
		opts  func(o *authz.AuthenticatorOptions)
		token string
		want  *authz.Principal
		err   string
	}{
		{name: "HS256", token: hs256, want: alice(nil)},
		{name: "RS256 by kid", token: signAsym(t, jwt.SigningMethodRS256, keys.rsa2, "r2", aliceClaims()), want: alice(nil)},
		{name: "RS256 without kid", token: signAsym(t, jwt.SigningMethodRS256, keys.rsa2, "", aliceClaims()), want: alice(nil)},
		{name: "ES256 by kid", token: signAsym(t, jwt.SigningMethodES256, keys.ec, "e1", aliceClaims()), want: alice(nil)},
		{name: "ES256 without kid", token: signAsym(t, jwt.SigningMethodES256, keys.ec2, "", aliceClaims()), want: alice(nil)},
		{name: "no roles", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("roles", nil)), want: alice(func(p *authz.Principal) { p.Roles = nil })},
		{name: "only registered claims besides sub and tenant",
			token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("region", nil, "regions", nil, "nbf", testNow.Unix())),
			want:  alice(func(p *authz.Principal) { p.Attributes = nil })},
		{name: "expired within the leeway", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", testNow.Add(-29*time.Second).Unix())), want: alice(nil)},
		{name: "no expiry, allowed", opts: func(o *authz.AuthenticatorOptions) { o.AllowNoExpiry = true },
			token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", nil)), want: alice(nil)},
		{name: "issuer and audience", opts: func(o *authz.AuthenticatorOptions) { o.Issuer, o.Audience = "https://id.example.com", "koujing" },
			token: hs256, want: alice(nil)},

		{name: "expired", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", testNow.Add(-time.Hour).Unix())),
			err: "unauthenticated: the token expired at 2026-11-30T08:00:00Z; get a new one"},
		{name: "expired past the leeway", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", testNow.Add(-31*time.Second).Unix())),
			err: "unauthenticated: the token expired at 2026-11-30T08:59:29Z; get a new one"},
		{name: "expired without leeway", opts: func(o *authz.AuthenticatorOptions) { o.Leeway = -1 },
			token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", testNow.Add(-time.Second).Unix())),
			err:   "unauthenticated: the token expired at 2026-11-30T08:59:59Z; get a new one"},
		{name: "not valid yet", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("nbf", testNow.Add(time.Hour).Unix())),
			err: "unauthenticated: the token is not valid before 2026-11-30T10:00:00Z (nbf); wait, or check the clock of whoever issued it"},
		{name: "no expiry", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", nil)),
			err: "unauthenticated: the token never expires (it has no exp claim), which this server refuses; get a token with an expiry"},
		{name: "exp not a number", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("exp", "tomorrow")),
			err: "unauthenticated: the token's registered claims have the wrong types (invalid type for claim: exp is invalid); exp, nbf and iat are numbers of seconds, iss a string, aud a string or a list of strings"},
		{name: "wrong secret", token: signHS(t, jwt.SigningMethodHS256, otherSecret, aliceClaims()), err: badSignature},
		{name: "tampered payload", token: tampered, err: badSignature},
		{name: "RS256 signed by a key not in the set", token: signAsym(t, jwt.SigningMethodRS256, keys.rsaOther, "", aliceClaims()), err: badSignature},
		{name: "ES256 signed by another key of its kid", token: signAsym(t, jwt.SigningMethodES256, keys.ecOther, "e1", aliceClaims()), err: badSignature},
		{name: "alg none", token: handBuilt(`{"alg":"none","typ":"JWT"}`, mustJSON(t, aliceClaims()), nil),
			err: "unauthenticated: the token is signed with alg none, which is never accepted"},
		{name: "alg None", token: handBuilt(`{"alg":"None"}`, mustJSON(t, aliceClaims()), []byte("x")),
			err: "unauthenticated: the token is signed with alg none, which is never accepted"},
		{name: "no alg", token: handBuilt(`{"typ":"JWT"}`, mustJSON(t, aliceClaims()), []byte("x")),
			err: "unauthenticated: the token's header names no signing algorithm (alg); send a signed JWT"},
		{name: "HS256 signed with the RSA public key's PEM", token: signHS(t, jwt.SigningMethodHS256, pubPEM, aliceClaims()), err: badSignature},
		{name: "HS256 signed with the RSA public key's PEM, no secret", opts: jwksOnly,
			token: signHS(t, jwt.SigningMethodHS256, pubPEM, aliceClaims()),
			err:   `unauthenticated: the token is signed with "HS256"; this server accepts RS256, ES256`},
		{name: "HS256 signed with the RSA public key's DER naming its kid, no secret", opts: jwksOnly,
			token: signHeader(t, jwt.SigningMethodHS256, pubDER, map[string]any{"kid": "r1"}, aliceClaims()),
			err:   `unauthenticated: the token is signed with "HS256"; this server accepts RS256, ES256`},
		{name: "HS512", token: signHS(t, jwt.SigningMethodHS512, testSecret, aliceClaims()),
			err: `unauthenticated: the token is signed with "HS512"; this server accepts HS256, RS256, ES256`},
		{name: "PS256", token: signAsym(t, jwt.SigningMethodPS256, keys.rsa, "r1", aliceClaims()),
			err: `unauthenticated: the token is signed with "PS256"; this server accepts HS256, RS256, ES256`},
		{name: "RS256 without a JWKS file", opts: func(o *authz.AuthenticatorOptions) { o.JWKSFile = "" },
			token: signAsym(t, jwt.SigningMethodRS256, keys.rsa, "r1", aliceClaims()),
			err:   `unauthenticated: the token is signed with "RS256"; this server accepts HS256`},
		{name: "no JWTs accepted", opts: func(o *authz.AuthenticatorOptions) {
			*o = authz.AuthenticatorOptions{APIKeys: func(string) (*authz.APIKey, bool) { return nil, false }}
		},
			token: hs256, err: "unauthenticated: this server accepts no JWTs; send an API key"},
		{name: "unknown kid", token: signAsym(t, jwt.SigningMethodRS256, keys.rsa, "r9", aliceClaims()),
			err: `unauthenticated: the token names key "r9", which is not among the server's keys; get a token signed with a current key`},
		{name: "RS256 naming an EC key", token: signAsym(t, jwt.SigningMethodRS256, keys.rsa, "e1", aliceClaims()),
			err: `unauthenticated: the token is signed with RS256, but its key "e1" is for ES256; the token was not issued for this server`},
		{name: "ES256 naming an RSA key", token: signAsym(t, jwt.SigningMethodES256, keys.ec, "r1", aliceClaims()),
			err: `unauthenticated: the token is signed with ES256, but its key "r1" is for RS256; the token was not issued for this server`},
		{name: "kid not a string", token: signHeader(t, jwt.SigningMethodRS256, keys.rsa, map[string]any{"kid": 1}, aliceClaims()),
			err: "unauthenticated: the token's kid is not a string"},
		{name: "critical extension", token: signHeader(t, jwt.SigningMethodHS256, testSecret, map[string]any{"crit": []string{"b64"}, "b64": false}, aliceClaims()),
			err: "unauthenticated: the token's header lists critical extensions (crit), which this server does not understand"},
		{name: "missing sub", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("sub", nil)),
			err: "unauthenticated: the credentials name no subject (claim sub); get a token that carries sub and tenant"},
		{name: "missing tenant", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("tenant", nil)),
			err: "unauthenticated: the credentials name no tenant (claim tenant); get a token that carries sub and tenant"},
		{name: "sub not a string", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("sub", 42)),
			err: "unauthenticated: the token's sub claim is not a string"},
		{name: "tenant not a string", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("tenant", []any{"demo"})),
			err: "unauthenticated: the token's tenant claim is not a string"},
		{name: "sub naming an API key", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("sub", "api_key:abc")),
			err: "unauthenticated: the token's sub starts with api_key:, which names API keys; a token names a user"},
		{name: "roles a string", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("roles", "analyst")), err: rolesMsg},
		{name: "roles of numbers", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("roles", []any{1, 2})), err: rolesMsg},
		{name: "roles with an empty name", token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("roles", []any{"analyst", ""})), err: rolesMsg},
		{name: "roles null", token: signHS(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims(with(aliceClaims(), "roles", json.RawMessage("null")))), err: rolesMsg},
		{name: "wrong issuer", opts: func(o *authz.AuthenticatorOptions) { o.Issuer = "https://other.example.com" }, token: hs256,
			err: `unauthenticated: the token is issued by "https://id.example.com"; this server accepts tokens issued by "https://other.example.com"`},
		{name: "no issuer", opts: func(o *authz.AuthenticatorOptions) { o.Issuer = "https://id.example.com" },
			token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("iss", nil)),
			err:   `unauthenticated: the token names no issuer (iss); this server accepts tokens issued by "https://id.example.com"`},
		{name: "wrong audience", opts: func(o *authz.AuthenticatorOptions) { o.Audience = "metabase" }, token: hs256,
			err: `unauthenticated: the token is not meant for this server: its aud does not include "metabase"; get a token for that audience`},
		{name: "no audience", opts: func(o *authz.AuthenticatorOptions) { o.Audience = "koujing" },
			token: signHS(t, jwt.SigningMethodHS256, testSecret, aliceWith("aud", nil)),
			err:   `unauthenticated: the token is not meant for this server: its aud does not include "koujing"; get a token for that audience`},
		{name: "header not base64", token: "eyJ!.e30.c2ln", err: strings.ReplaceAll(malformed, "%s", "could not base64 decode header: illegal base64 data at input byte 3")},
		{name: "payload not JSON", token: handBuilt(`{"alg":"HS256"}`, "{not json", []byte("x")),
			err: strings.ReplaceAll(malformed, "%s", "could not JSON decode claim: invalid character 'n' looking for beginning of object key string")},
		{name: "signature not base64", token: parts[0] + "." + parts[1] + ".a+b", err: strings.ReplaceAll(malformed, "%s", "could not base64 decode signature: illegal base64 data at input byte 1")},
		{name: "two parts", token: parts[0] + "." + parts[1], err: strings.ReplaceAll(malformed, "%s", "token contains an invalid number of segments")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAuthenticator(t, c.opts)
			got, err := a.AuthenticateToken(c.token)
			checkAuthn(t, got, err, c.want, c.err)
			if err != nil && strings.Contains(err.Error(), c.token) {
				t.Errorf("the error repeats the token")
			}
		})
	}
}

// checkAuthn checks an authentication's outcome: the principal want, or a refusal wrapping
// ErrUnauthenticated with the message wantErr.
func checkAuthn(t *testing.T, got *authz.Principal, err error, want *authz.Principal, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if got != nil || !errors.Is(err, authz.ErrUnauthenticated) || err.Error() != wantErr {
			t.Errorf("got %+v, %v\nwant error %s", got, err, wantErr)
		}
		return
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v\nwant %+v", got, err, want)
	}
}

func TestAuthenticateRequest(t *testing.T) {
	keyText, key, err := authz.NewAPIKey("demo", "nightly export", []string{"viewer"}, "alice@demo", testNow)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(id string) (*authz.APIKey, bool) { return &key, id == key.ID }
	service := &authz.Principal{Subject: "api_key:" + key.ID, Tenant: "demo", Roles: []string{"viewer"}, Method: authz.MethodAPIKey}
	demo := &authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}}
	asDemo := &authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}, Method: authz.MethodDemo}
	token, err := authz.SignToken(testSecret, aliceClaims())
	if err != nil {
		t.Fatal(err)
	}
	expired, err := authz.SignToken(testSecret, aliceWith("exp", testNow.Add(-time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	const expiredMsg = "unauthenticated: the token expired at 2026-11-30T08:00:00Z; get a new one"
	cases := []struct {
		name    string
		demo    bool
		headers []string // name, value, name, value…
		want    *authz.Principal
		err     string
	}{
		{name: "bearer JWT", headers: []string{"Authorization", "Bearer " + token}, want: alice(nil)},
		{name: "scheme in lower case", headers: []string{"Authorization", "bearer  " + token + " "}, want: alice(nil)},
		{name: "bearer API key", headers: []string{"Authorization", "Bearer " + keyText}, want: service},
		{name: "X-API-Key", headers: []string{"X-API-Key", keyText}, want: service},
		{name: "no credentials", err: "unauthenticated: no credentials: send Authorization: Bearer <token>"},
		{name: "empty bearer", headers: []string{"Authorization", "Bearer "}, err: "unauthenticated: the Authorization header has an empty bearer token; send Authorization: Bearer <token>"},
		{name: "empty Authorization", headers: []string{"Authorization", ""}, err: "unauthenticated: the Authorization header is empty; send Authorization: Bearer <token>"},
		{name: "wrong scheme", headers: []string{"Authorization", "Basic YWxpY2U6c2VjcmV0"}, err: "unauthenticated: the Authorization header uses scheme Basic; send Authorization: Bearer <token>"},
		{name: "token without scheme", headers: []string{"Authorization", token}, err: "unauthenticated: the Authorization header names no scheme; send Authorization: Bearer <token>"},
		{name: "API key without scheme", headers: []string{"Authorization", keyText}, err: "unauthenticated: the Authorization header names no scheme; send Authorization: Bearer <token>"},
		{name: "X-API-Key with a JWT", headers: []string{"X-API-Key", token}, err: "unauthenticated: the X-API-Key header holds no Koujing API key (they start with kj_); send a JWT as Authorization: Bearer <token>"},
		{name: "two credentials", headers: []string{"Authorization", "Bearer " + token, "X-API-Key", keyText},
			err: "unauthenticated: the request carries more than one credential (Authorization and X-API-Key headers); send one"},
		{name: "two Authorization headers", headers: []string{"Authorization", "Bearer " + token, "Authorization", "Bearer " + token},
			err: "unauthenticated: the request carries more than one credential (Authorization and X-API-Key headers); send one"},
		{name: "expired", headers: []string{"Authorization", "Bearer " + expired}, err: expiredMsg},
		{name: "demo without credentials", demo: true, want: asDemo},
		{name: "demo with a token", demo: true, headers: []string{"Authorization", "Bearer " + token}, want: alice(nil)},
		{name: "demo with an API key", demo: true, headers: []string{"X-API-Key", keyText}, want: service},
		{name: "demo with an expired token", demo: true, headers: []string{"Authorization", "Bearer " + expired}, err: expiredMsg},
		{name: "demo with an empty bearer", demo: true, headers: []string{"Authorization", "Bearer"},
			err: "unauthenticated: the Authorization header has an empty bearer token; send Authorization: Bearer <token>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAuthenticator(t, func(o *authz.AuthenticatorOptions) {
				o.APIKeys = lookup
				if c.demo {
					o.Demo = demo
				}
			})
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			for i := 0; i < len(c.headers); i += 2 {
				r.Header.Add(c.headers[i], c.headers[i+1])
			}
			got, err := a.Authenticate(r)
			checkAuthn(t, got, err, c.want, c.err)
			for _, credential := range []string{token, expired, keyText[16:], "YWxpY2U6c2VjcmV0"} {
				if err != nil && strings.Contains(err.Error(), credential) {
					t.Errorf("the error repeats a credential")
				}
			}
		})
	}
}

func TestAuthenticateTokenAsPassword(t *testing.T) {
	keyText, key, err := authz.NewAPIKey("demo", "bi", []string{"analyst"}, "alice@demo", testNow)
	if err != nil {
		t.Fatal(err)
	}
	token, err := authz.SignToken(testSecret, aliceClaims())
	if err != nil {
		t.Fatal(err)
	}
	service := &authz.Principal{Subject: "api_key:" + key.ID, Tenant: "demo", Roles: []string{"analyst"}, Method: authz.MethodAPIKey}
	asDemo := &authz.Principal{Subject: "guest", Tenant: "demo", Method: authz.MethodDemo}
	cases := []struct {
		name     string
		demo     bool
		password string
		want     *authz.Principal
		err      string
	}{
		{name: "JWT", password: token, want: alice(nil)},
		{name: "API key", password: keyText, want: service},
		{name: "API key with a trailing newline", password: keyText + "\n", want: service},
		{name: "empty", err: "unauthenticated: no credentials: give a token or API key (as the password, where there is no header)"},
		{name: "empty in demo mode", demo: true, want: asDemo},
		{name: "garbage in demo mode", demo: true, password: "secret", err: "unauthenticated: the token is not a well-formed JWT (token contains an invalid number of segments); send it exactly as issued: three base64url parts separated by dots"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAuthenticator(t, func(o *authz.AuthenticatorOptions) {
				o.APIKeys = func(id string) (*authz.APIKey, bool) { return &key, id == key.ID }
				if c.demo {
					o.Demo = &authz.Principal{Subject: "guest", Tenant: "demo", Method: authz.MethodLocal}
				}
			})
			got, err := a.AuthenticateToken(c.password)
			checkAuthn(t, got, err, c.want, c.err)
		})
	}
}

func TestNewAuthenticatorOptions(t *testing.T) {
	pemSecret := []byte("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n")
	cases := []struct {
		name string
		opts authz.AuthenticatorOptions
		err  string
	}{
		{name: "nothing", err: "no way to authenticate: set a JWT secret, a JWKS file, an API key lookup or a demo principal"},
		{name: "short secret", opts: authz.AuthenticatorOptions{Secret: []byte("secret")},
			err: "the JWT secret is 6 bytes; use at least 32 random bytes, such as the output of openssl rand -base64 32"},
		{name: "public key as secret", opts: authz.AuthenticatorOptions{Secret: pemSecret},
			err: "the JWT secret is a PEM key; an HS256 secret is random bytes, and public keys belong in the JWKS file"},
		{name: "demo without tenant", opts: authz.AuthenticatorOptions{Demo: &authz.Principal{Subject: "demo"}},
			err: "demo principal: the credentials name no tenant (claim tenant)"},
		{name: "secret only", opts: authz.AuthenticatorOptions{Secret: testSecret}},
		{name: "demo only", opts: authz.AuthenticatorOptions{Demo: &authz.Principal{Subject: "demo", Tenant: "demo"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := authz.NewAuthenticator(c.opts)
			if c.err == "" {
				if a == nil || err != nil {
					t.Errorf("NewAuthenticator = %v, %v; want an authenticator", a, err)
				}
				return
			}
			if a != nil || err == nil || err.Error() != c.err || errors.Is(err, authz.ErrUnauthenticated) {
				t.Errorf("NewAuthenticator = %v, %v; want error %s", a, err, c.err)
			}
		})
	}
}

func TestSignTokenRefusesWeakSecrets(t *testing.T) {
	cases := []struct {
		name   string
		secret []byte
		err    string
	}{
		{name: "empty", secret: nil, err: "the JWT secret is 0 bytes; use at least 32 random bytes, such as the output of openssl rand -base64 32"},
		{name: "31 bytes", secret: testSecret[:31], err: "the JWT secret is 31 bytes; use at least 32 random bytes, such as the output of openssl rand -base64 32"},
		{name: "PEM", secret: []byte("  -----BEGIN PUBLIC KEY-----" + string(testSecret)), err: "the JWT secret is a PEM key; an HS256 secret is random bytes, and public keys belong in the JWKS file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token, err := authz.SignToken(c.secret, aliceClaims())
			if token != "" || err == nil || err.Error() != c.err {
				t.Errorf("SignToken = %q, %v; want error %s", token, err, c.err)
			}
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	keys := testAuthnKeys()
	keyText, key, err := authz.NewAPIKey("demo", "bench", []string{"viewer"}, "alice@demo", testNow)
	if err != nil {
		b.Fatal(err)
	}
	a := testAuthenticator(b, func(o *authz.AuthenticatorOptions) {
		o.APIKeys = func(id string) (*authz.APIKey, bool) { return &key, id == key.ID }
	})
	hs256, err := authz.SignToken(testSecret, aliceClaims())
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name, header, value string
	}{
		{"HS256", "Authorization", "Bearer " + hs256},
		{"RS256", "Authorization", "Bearer " + signAsym(b, jwt.SigningMethodRS256, keys.rsa, "r1", aliceClaims())},
		{"ES256", "Authorization", "Bearer " + signAsym(b, jwt.SigningMethodES256, keys.ec, "e1", aliceClaims())},
		{"APIKey", "X-API-Key", keyText},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.Header.Set(c.header, c.value)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
