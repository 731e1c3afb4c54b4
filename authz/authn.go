package authz

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrUnauthenticated is wrapped by every error that refuses a request's credentials (or their
// absence): surfaces answer it with HTTP 401 or SQLSTATE 28000. The error's message says what was
// wrong and how to fix it, and never repeats a token or key.
var ErrUnauthenticated = errors.New("unauthenticated")

// authError refuses credentials with a message for whoever sent them.
type authError struct{ msg string }

func (e *authError) Error() string { return "unauthenticated: " + e.msg }
func (e *authError) Unwrap() error { return ErrUnauthenticated }

// DefaultLeeway is how far the clocks of a token's issuer and of the server may disagree before
// exp and nbf are held against a token.
const DefaultLeeway = 30 * time.Second

// minSecretLen is the shortest HS256 secret accepted: RFC 7518 asks for a key as long as the
// hash, 256 bits.
const minSecretLen = 32

// registeredClaims are the claims a token carries for its own validity; they are checked, not
// turned into user attributes. sub, tenant and roles become the principal's own fields.
var registeredClaims = []string{"iss", "aud", "exp", "nbf", "iat", "jti", AttrSubject, AttrTenant, AttrRoles}

// AuthenticatorOptions configure an Authenticator. The zero value accepts nothing; set at least
// one of Secret, JWKSFile, APIKeys and Demo.
type AuthenticatorOptions struct {
	// Secret verifies HS256 tokens; nil or empty refuses HS256. It is at least 32 random bytes,
	// such as the output of `openssl rand -base64 32`; the server reads it from
	// KOUJING_JWT_SECRET.
	Secret []byte
	// JWKSFile is the path of a JSON Web Key Set holding the public keys RS256 (RSA) and ES256
	// (EC P-256) tokens are verified with. It is read by NewAuthenticator and again by
	// ReloadJWKS; empty refuses RS256 and ES256.
	JWKSFile string
	// Leeway is how far exp and nbf may be off for clock skew; 0 means DefaultLeeway, and a
	// negative value none at all.
	Leeway time.Duration
	// Issuer, when set, is the only iss accepted; a token without iss is refused.
	Issuer string
	// Audience, when set, must be one of the token's aud; a token without aud is refused.
	Audience string
	// AllowNoExpiry accepts tokens without exp, which are valid forever once issued. By default
	// they are refused: a leaked token should stop working on its own.
	AllowNoExpiry bool
	// APIKeys looks API keys up by ID; nil refuses API keys.
	APIKeys APIKeyLookup
	// Demo, when set, is who a request without credentials runs as, on a server started in demo
	// mode (the server passes tenant demo, role analyst). Credentials that are present are still
	// verified: a bad token is refused, never taken as the demo user.
	Demo *Principal
	// Now is the clock tokens are checked against; nil means time.Now.
	Now func() time.Time
}

// Authenticator finds out who is asking, from a request's bearer token or API key. It is safe
// for concurrent use.
type Authenticator struct {
	secret        []byte
	jwksFile      string
	leeway        time.Duration
	issuer        string
	audience      string
	allowNoExpiry bool
	apiKeys       APIKeyLookup
	demo          *Principal
	now           func() time.Time
	// jwt verifies tokens with the keys of the JWKS file as last read; ReloadJWKS replaces it.
	jwt atomic.Pointer[jwtVerifier]
}

// jwtVerifier verifies tokens with one set of keys.
type jwtVerifier struct {
	parser *jwt.Parser
	secret []byte
	// keys are the JWKS file's keys; nil when there is no file.
	keys *jwksKeys
	// algs are the algorithms accepted: HS256 with a secret, and those of the keys.
	algs []string
}

// NewAuthenticator checks the options and reads the JWKS file.
func NewAuthenticator(opts AuthenticatorOptions) (*Authenticator, error) {
	a := &Authenticator{
		jwksFile:      opts.JWKSFile,
		leeway:        opts.Leeway,
		issuer:        opts.Issuer,
		audience:      opts.Audience,
		allowNoExpiry: opts.AllowNoExpiry,
		apiKeys:       opts.APIKeys,
		now:           opts.Now,
	}
	if len(opts.Secret) > 0 {
		if err := checkSecret(opts.Secret); err != nil {
			return nil, err
		}
		a.secret = bytes.Clone(opts.Secret)
	}
	switch {
	case a.leeway == 0:
		a.leeway = DefaultLeeway
	case a.leeway < 0:
		a.leeway = 0
	}
	if a.now == nil {
		a.now = time.Now
	}
	if opts.Demo != nil {
		if err := opts.Demo.Validate(); err != nil {
			return nil, fmt.Errorf("demo principal: %w", err)
		}
		demo := *opts.Demo
		demo.Roles = slices.Clone(demo.Roles)
		demo.Attributes = maps.Clone(demo.Attributes)
		demo.Method = MethodDemo
		a.demo = &demo
	}
	if a.secret == nil && a.jwksFile == "" && a.apiKeys == nil && a.demo == nil {
		return nil, fmt.Errorf("no way to authenticate: set a JWT secret, a JWKS file, an API key lookup or a demo principal")
	}
	if err := a.ReloadJWKS(); err != nil {
		return nil, err
	}
	if a.jwt.Load() == nil {
		a.jwt.Store(a.newVerifier(nil))
	}
	return a, nil
}

// ReloadJWKS reads the JWKS file again, so that keys an issuer has rotated in are accepted and
// those it rotated out are not. When the file cannot be read or parsed, the keys read before stay
// in use and the error says why. It does nothing when no file is configured.
func (a *Authenticator) ReloadJWKS() error {
	if a.jwksFile == "" {
		return nil
	}
	keys, err := loadJWKS(a.jwksFile)
	if err != nil {
		return err
	}
	a.jwt.Store(a.newVerifier(keys))
	return nil
}

func (a *Authenticator) newVerifier(keys *jwksKeys) *jwtVerifier {
	v := &jwtVerifier{secret: a.secret, keys: keys, algs: []string{}}
	if a.secret != nil {
		v.algs = append(v.algs, algHS256)
	}
	if keys != nil {
		v.algs = append(v.algs, keys.algorithms()...)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithLeeway(a.leeway),
		jwt.WithTimeFunc(a.now),
		jwt.WithStrictDecoding(),
	}
	if !a.allowNoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if a.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v
}

// Authenticate returns who sent the request: from Authorization: Bearer <token>, where the token
// is a JWT or an API key (kj_…), or from X-API-Key: <key>. A request without either runs as the
// demo principal when there is one. Every refusal wraps ErrUnauthenticated.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	bearer := r.Header.Values("Authorization")
	keys := r.Header.Values("X-API-Key")
	switch n := len(bearer) + len(keys); {
	case n == 0:
		return a.noCredentials("send Authorization: Bearer <token>")
	case n > 1:
		return nil, &authError{msg: "the request carries more than one credential (Authorization and X-API-Key headers); send one"}
	case len(keys) == 1:
		key := strings.TrimSpace(keys[0])
		if !isAPIKeyText(key) {
			return nil, &authError{msg: "the X-API-Key header holds no Koujing API key (they start with kj_); send a JWT as Authorization: Bearer <token>"}
		}
		return VerifyAPIKey(key, a.apiKeys)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(bearer[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if scheme == "" {
			return nil, &authError{msg: "the Authorization header is empty; send Authorization: Bearer <token>"}
		}
		if !isSchemeName(scheme) {
			// Most likely the credential itself, sent without a scheme: never repeat it.
			return nil, &authError{msg: "the Authorization header names no scheme; send Authorization: Bearer <token>"}
		}
		return nil, &authError{msg: fmt.Sprintf("the Authorization header uses scheme %s; send Authorization: Bearer <token>", scheme)}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, &authError{msg: "the Authorization header has an empty bearer token; send Authorization: Bearer <token>"}
	}
	return a.AuthenticateToken(token)
}

// isSchemeName reports whether s looks like an HTTP authentication scheme (Basic, Digest,
// Negotiate…) rather than a credential.
func isSchemeName(s string) bool {
	if len(s) > 20 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// AuthenticateToken returns who a JWT or an API key (kj_…) belongs to, for surfaces that are
// given a password rather than a header, such as the SQL surface. An empty token is no
// credentials: the demo principal when there is one, else refused.
func (a *Authenticator) AuthenticateToken(token string) (*Principal, error) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return a.noCredentials("give a token or API key (as the password, where there is no header)")
	case isAPIKeyText(token):
		return VerifyAPIKey(token, a.apiKeys)
	}
	return a.verifyJWT(token)
}

// noCredentials answers a request that carries none: the demo principal or a refusal.
func (a *Authenticator) noCredentials(hint string) (*Principal, error) {
	if a.demo != nil {
		return a.demo, nil
	}
	return nil, &authError{msg: "no credentials: " + hint}
}

// verifyJWT checks a token's signature, algorithm and claims, and turns its claims into a
// principal.
func (a *Authenticator) verifyJWT(token string) (*Principal, error) {
	v := a.jwt.Load()
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, v.key)
	if err != nil {
		return nil, a.explain(v, tok, claims, err)
	}
	return principalFromClaims(claims)
}

// key is golang-jwt's key function: it picks the key a token is verified with, which is never
// one meant for another algorithm (the parser has already refused algorithms not in algs).
func (v *jwtVerifier) key(tok *jwt.Token) (any, error) {
	if _, ok := tok.Header["crit"]; ok {
		return nil, &authError{msg: "the token's header lists critical extensions (crit), which this server does not understand"}
	}
	kid, ok := tok.Header["kid"].(string)
	if _, has := tok.Header["kid"]; has && !ok {
		return nil, &authError{msg: "the token's kid is not a string"}
	}
	switch alg := tok.Method.Alg(); {
	case alg == algHS256 && v.secret != nil:
		return v.secret, nil
	case (alg == algRS256 || alg == algES256) && v.keys != nil:
		return v.keys.keyFor(alg, kid)
	default:
		return nil, v.refuseAlg(alg)
	}
}

// refuseAlg refuses a token signed with an algorithm this server does not accept.
func (v *jwtVerifier) refuseAlg(alg string) error {
	if len(v.algs) == 0 {
		return &authError{msg: "this server accepts no JWTs; send an API key"}
	}
	return &authError{msg: fmt.Sprintf("the token is signed with %s; this server accepts %s", quoteShort(alg), strings.Join(v.algs, ", "))}
}

// explain turns golang-jwt's refusal of a token into one that says what to do about it.
func (a *Authenticator) explain(v *jwtVerifier, tok *jwt.Token, claims jwt.MapClaims, err error) error {
	if ae, ok := errors.AsType[*authError](err); ok {
		return ae
	}
	if tok != nil && tok.Header != nil {
		alg, _ := tok.Header["alg"].(string)
		switch {
		case strings.EqualFold(alg, "none"):
			return &authError{msg: "the token is signed with alg none, which is never accepted"}
		case alg == "":
			return &authError{msg: "the token's header names no signing algorithm (alg); send a signed JWT"}
		case !slices.Contains(v.algs, alg):
			return v.refuseAlg(alg)
		}
	}
	_, hasExp := claims["exp"]
	iss, _ := claims.GetIssuer()
	missing := errors.Is(err, jwt.ErrTokenRequiredClaimMissing)
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		detail := strings.TrimPrefix(err.Error(), jwt.ErrTokenMalformed.Error()+": ")
		return &authError{msg: fmt.Sprintf("the token is not a well-formed JWT (%s); send it exactly as issued: three base64url parts separated by dots", detail)}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return &authError{msg: "the token's signature does not verify: it was altered, or signed with a key this server does not trust"}
	case errors.Is(err, jwt.ErrInvalidType):
		detail := strings.TrimPrefix(err.Error(), jwt.ErrTokenInvalidClaims.Error()+": ")
		return &authError{msg: fmt.Sprintf("the token's registered claims have the wrong types (%s); exp, nbf and iat are numbers of seconds, iss a string, aud a string or a list of strings", detail)}
	case missing && !hasExp && !a.allowNoExpiry:
		return &authError{msg: "the token never expires (it has no exp claim), which this server refuses; get a token with an expiry"}
	case errors.Is(err, jwt.ErrTokenExpired):
		exp, _ := claims.GetExpirationTime()
		return &authError{msg: fmt.Sprintf("the token expired at %s; get a new one", formatClaimTime(exp))}
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		nbf, _ := claims.GetNotBefore()
		return &authError{msg: fmt.Sprintf("the token is not valid before %s (nbf); wait, or check the clock of whoever issued it", formatClaimTime(nbf))}
	case errors.Is(err, jwt.ErrTokenInvalidIssuer) || missing && iss == "" && a.issuer != "":
		if iss == "" {
			return &authError{msg: fmt.Sprintf("the token names no issuer (iss); this server accepts tokens issued by %q", a.issuer)}
		}
		return &authError{msg: fmt.Sprintf("the token is issued by %s; this server accepts tokens issued by %q", quoteShort(iss), a.issuer)}
	case errors.Is(err, jwt.ErrTokenInvalidAudience) || missing && a.audience != "":
		return &authError{msg: fmt.Sprintf("the token is not meant for this server: its aud does not include %q; get a token for that audience", a.audience)}
	}
	return &authError{msg: fmt.Sprintf("the token is not valid (%v)", err)}
}

func formatClaimTime(d *jwt.NumericDate) string {
	if d == nil {
		return "an unknown time"
	}
	return d.UTC().Format(time.RFC3339)
}

// principalFromClaims makes the principal a verified token names: sub, tenant and roles, and
// every other claim but the registered ones as an attribute.
func principalFromClaims(claims jwt.MapClaims) (*Principal, error) {
	p := &Principal{Method: MethodJWT}
	var ok bool
	if v, has := claims[AttrSubject]; has {
		if p.Subject, ok = v.(string); !ok {
			return nil, &authError{msg: "the token's sub claim is not a string"}
		}
	}
	if v, has := claims[AttrTenant]; has {
		if p.Tenant, ok = v.(string); !ok {
			return nil, &authError{msg: "the token's tenant claim is not a string"}
		}
	}
	if v, has := claims[AttrRoles]; has {
		if p.Roles, ok = roleNames(v); !ok {
			return nil, &authError{msg: `the token's roles claim is not a JSON array of role names, such as ["analyst"]`}
		}
	}
	if err := p.Validate(); err != nil {
		return nil, &authError{msg: err.Error() + "; get a token that carries sub and tenant"}
	}
	if strings.HasPrefix(p.Subject, "api_key:") {
		return nil, &authError{msg: "the token's sub starts with api_key:, which names API keys; a token names a user"}
	}
	for name, v := range claims {
		if slices.Contains(registeredClaims, name) {
			continue
		}
		if p.Attributes == nil {
			p.Attributes = make(map[string]any, len(claims))
		}
		p.Attributes[name] = v
	}
	return p, nil
}

// roleNames reads a JSON array of non-empty strings.
func roleNames(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	roles := make([]string, len(list))
	for i, r := range list {
		if roles[i], ok = r.(string); !ok || roles[i] == "" {
			return nil, false
		}
	}
	return roles, true
}

// checkSecret refuses HS256 secrets that are too short to resist guessing, and public keys
// mistaken for secrets: an HS256 "secret" that is a public key lets anyone who has the key sign
// tokens.
func checkSecret(secret []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(secret), []byte("-----BEGIN")) {
		return fmt.Errorf("the JWT secret is a PEM key; an HS256 secret is random bytes, and public keys belong in the JWKS file")
	}
	if len(secret) < minSecretLen {
		return fmt.Errorf("the JWT secret is %d bytes; use at least %d random bytes, such as the output of openssl rand -base64 32", len(secret), minSecretLen)
	}
	return nil
}

// SignToken signs claims with secret as an HS256 JWT, for people trying Koujing with tokens they
// make themselves (koujing token). Times are numbers of seconds since 1970; the server refuses a
// token without exp unless told otherwise.
func SignToken(secret []byte, claims map[string]any) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return token, nil
}
