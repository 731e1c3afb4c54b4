package authz

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// An API key's text is kj_ID_SECRET: the prefix says what it is (so that scanners for leaked
// secrets can find it, and so that a bearer token can be told from a JWT), ID is the public
// part the key is stored under, and SECRET is 32 random bytes in base64url without padding.
const (
	apiKeyPrefix    = "kj_"
	apiKeyIDLen     = 12
	apiKeySecretLen = 32
	// apiKeyIDAlphabet is lowercase base32: 32 symbols, so a random byte masked to 5 bits picks
	// one without bias.
	apiKeyIDAlphabet = "abcdefghijklmnopqrstuvwxyz234567"
)

// apiKeyTextLen is the length of an API key's text.
var apiKeyTextLen = len(apiKeyPrefix) + apiKeyIDLen + 1 + base64.RawURLEncoding.EncodedLen(apiKeySecretLen)

// APIKeyLookup returns the stored key with the given ID, or false when there is none. The
// authenticator calls it once for every request that carries an API key, from many goroutines at
// once, so it must be safe for concurrent use and fast (an in-memory map, not a database query).
// The returned key is only read.
type APIKeyLookup func(id string) (*APIKey, bool)

// NewAPIKey makes a new API key for a service of the tenant. It returns the key's text, to be
// shown once to whoever asked for it, and the record to store, which holds only the SHA-256 of the
// key's secret: the text cannot be recovered from the store.
func NewAPIKey(tenant, name string, roles []string, createdBy string, now time.Time) (text string, key APIKey, err error) {
	if err := checkName("tenant", tenant, false); err != nil {
		return "", APIKey{}, err
	}
	if strings.TrimSpace(name) == "" {
		return "", APIKey{}, fmt.Errorf("the api key has no name; say what it is for, such as nightly-export")
	}
	for _, r := range roles {
		if err := checkName("role", r, false); err != nil {
			return "", APIKey{}, err
		}
		if strings.ContainsFunc(r, unicode.IsSpace) {
			return "", APIKey{}, fmt.Errorf("the role %q has a space; role names are single words", r)
		}
	}
	var random [apiKeyIDLen + apiKeySecretLen]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", APIKey{}, fmt.Errorf("make api key: %w", err)
	}
	id := make([]byte, apiKeyIDLen)
	for i, b := range random[:apiKeyIDLen] {
		id[i] = apiKeyIDAlphabet[b&31]
	}
	secret := random[apiKeyIDLen:]
	hash := sha256.Sum256(secret)
	key = APIKey{
		ID:        string(id),
		Tenant:    tenant,
		Name:      name,
		Roles:     slices.Clone(roles),
		Hash:      hash[:],
		CreatedAt: now.UTC(),
		CreatedBy: createdBy,
	}
	return apiKeyPrefix + key.ID + "_" + base64.RawURLEncoding.EncodeToString(secret), key, nil
}

// VerifyAPIKey checks an API key's text against the stored key of its ID and returns the
// principal its requests run as: subject api_key:ID, the key's tenant and roles. Every failure
// wraps ErrUnauthenticated; the messages never repeat the secret.
func VerifyAPIKey(text string, lookup APIKeyLookup) (*Principal, error) {
	id, secret, ok := parseAPIKeyText(text)
	if !ok {
		return nil, &authError{msg: "the API key is malformed; send it exactly as it was issued (kj_, 12 characters, _, 43 characters)"}
	}
	if lookup == nil {
		return nil, &authError{msg: "this server accepts no API keys; send a JWT as Authorization: Bearer <token>"}
	}
	key, found := lookup(id)
	if !found || key == nil || key.ID != id {
		return nil, &authError{msg: fmt.Sprintf("the API key %s is not known; ask an admin of the tenant for a new one", id)}
	}
	hash := sha256.Sum256(secret[:])
	if subtle.ConstantTimeCompare(hash[:], key.Hash) != 1 {
		return nil, &authError{msg: fmt.Sprintf("the API key %s has a wrong secret; send the whole key as it was issued", id)}
	}
	if key.Revoked() {
		return nil, &authError{msg: fmt.Sprintf("the API key %s was revoked at %s; ask an admin of the tenant for a new one", id, key.RevokedAt.UTC().Format(time.RFC3339))}
	}
	p := &Principal{Subject: key.Subject(), Tenant: key.Tenant, Roles: slices.Clone(key.Roles), Method: MethodAPIKey}
	if err := p.Validate(); err != nil {
		return nil, &authError{msg: fmt.Sprintf("the API key %s is stored without a tenant; ask an admin of the tenant for a new one", id)}
	}
	return p, nil
}

// isAPIKeyText reports whether a credential is meant as an API key rather than a JWT.
func isAPIKeyText(s string) bool { return strings.HasPrefix(s, apiKeyPrefix) }

// parseAPIKeyText splits an API key's text into its ID and secret; ok is false when the text is
// not in the form NewAPIKey makes.
func parseAPIKeyText(text string) (id string, secret [apiKeySecretLen]byte, ok bool) {
	if len(text) != apiKeyTextLen || !isAPIKeyText(text) {
		return "", secret, false
	}
	rest := text[len(apiKeyPrefix):]
	id, enc := rest[:apiKeyIDLen], rest[apiKeyIDLen+1:]
	if rest[apiKeyIDLen] != '_' {
		return "", secret, false
	}
	for i := 0; i < len(id); i++ {
		if strings.IndexByte(apiKeyIDAlphabet, id[i]) < 0 {
			return "", secret, false
		}
	}
	n, err := base64.RawURLEncoding.Strict().Decode(secret[:], []byte(enc))
	if err != nil || n != apiKeySecretLen {
		return "", secret, false
	}
	return id, secret, true
}
