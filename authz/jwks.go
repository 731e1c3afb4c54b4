package authz

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// The signing algorithms Koujing verifies: HS256 with the deployment's secret, RS256 and ES256
// with the public keys of a JWKS file. Every other algorithm is refused, whatever the token's
// header says.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
)

// minRSABits is the smallest RSA modulus accepted in a JWKS file, as NIST SP 800-57 requires.
const minRSABits = 2048

// jwksKey is one verification key of a JWKS file.
type jwksKey struct {
	// kid is the key's ID; empty when the file gives none, and then only tokens without a kid
	// are tried against it.
	kid string
	// alg is the one algorithm the key verifies: RS256 for an RSA key, ES256 for a P-256 key.
	alg string
	// key is *rsa.PublicKey or *ecdsa.PublicKey, as golang-jwt's verifiers expect for alg.
	key any
}

// jwksKeys is the parsed content of a JWKS file: its signature keys in file order.
type jwksKeys struct {
	keys []jwksKey
	// byKID indexes keys by kid.
	byKID map[string]*jwksKey
}

// jsonWebKey is one key of a JSON Web Key Set as RFC 7517 and RFC 7518 write it.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	// N and E are an RSA key's modulus and exponent.
	N string `json:"n"`
	E string `json:"e"`
	// Crv, X and Y are an EC key's curve and point.
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	// D is the private part of an RSA or EC key, and K an oct key's secret: neither belongs in a
	// file of public keys.
	D string `json:"d"`
	K string `json:"k"`
}

// loadJWKS reads and parses the JWKS file at path.
func loadJWKS(path string) (*jwksKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JWKS file: %w", err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("JWKS file %s: %w", path, err)
	}
	return keys, nil
}

// parseJWKS reads a JSON Web Key Set: {"keys": [...]}. Keys marked "use": "enc" are skipped;
// any other key must be an RSA key (n, e; RS256) or an EC P-256 key (crv, x, y; ES256), hold no
// private part, and have a kid no other key has. A key the server cannot use is an error rather
// than silently ignored, so that a token signed with it is not refused later for no visible reason.
func parseJWKS(data []byte) (*jwksKeys, error) {
	var set struct {
		Keys *[]jsonWebKey `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set (%v); write {\"keys\": [{\"kty\": \"RSA\", \"kid\": ..., \"n\": ..., \"e\": ...}]}", err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("no \"keys\" array; a JSON Web Key Set is {\"keys\": [...]}")
	}
	ks := &jwksKeys{byKID: map[string]*jwksKey{}}
	for i, jwk := range *set.Keys {
		name := fmt.Sprintf("key %d", i+1)
		if jwk.Kid != "" {
			name = fmt.Sprintf("key %d (kid %q)", i+1, jwk.Kid)
		}
		if jwk.Use == "enc" {
			continue
		}
		k, err := jwk.verificationKey()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if k.kid != "" {
			if _, dup := ks.byKID[k.kid]; dup {
				return nil, fmt.Errorf("%s: another key has the same kid; give each key its own", name)
			}
			ks.byKID[k.kid] = nil
		}
		ks.keys = append(ks.keys, k)
	}
	if len(ks.keys) == 0 {
		return nil, fmt.Errorf("no signature keys; add the RSA or EC P-256 public keys tokens are signed with")
	}
	for i := range ks.keys {
		if k := &ks.keys[i]; k.kid != "" {
			ks.byKID[k.kid] = k
		}
	}
	return ks, nil
}

// verificationKey turns the JSON key into the public key golang-jwt verifies with.
func (jwk *jsonWebKey) verificationKey() (jwksKey, error) {
	if jwk.D != "" || jwk.K != "" {
		return jwksKey{}, fmt.Errorf("holds private key material; publish only the public key")
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return jwksKey{}, fmt.Errorf("use %q is neither sig nor enc", jwk.Use)
	}
	var want string
	var key any
	var err error
	switch jwk.Kty {
	case "RSA":
		want = algRS256
		key, err = jwk.rsaKey()
	case "EC":
		want = algES256
		key, err = jwk.ecKey()
	case "":
		return jwksKey{}, fmt.Errorf("no kty; write \"kty\": \"RSA\" or \"kty\": \"EC\"")
	default:
		return jwksKey{}, fmt.Errorf("kty %q is not supported; Koujing verifies RSA (RS256) and EC P-256 (ES256) keys", jwk.Kty)
	}
	if err != nil {
		return jwksKey{}, err
	}
	if jwk.Alg != "" && jwk.Alg != want {
		return jwksKey{}, fmt.Errorf("alg %q is not supported for a %s key; Koujing verifies %s with it", jwk.Alg, jwk.Kty, want)
	}
	return jwksKey{kid: jwk.Kid, alg: want, key: key}, nil
}

func (jwk *jsonWebKey) rsaKey() (*rsa.PublicKey, error) {
	n, e, err := decodeKeyParts("n", jwk.N, "e", jwk.E)
	if err != nil {
		return nil, err
	}
	mod := new(big.Int).SetBytes(n)
	if bits := mod.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("the RSA modulus has %d bits; use a key of at least %d", bits, minRSABits)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, fmt.Errorf("the RSA exponent e is not an odd number from 3 to 2^31-1 (it is usually AQAB, 65537)")
	}
	return &rsa.PublicKey{N: mod, E: int(exp.Int64())}, nil
}

func (jwk *jsonWebKey) ecKey() (*ecdsa.PublicKey, error) {
	if jwk.Crv != "P-256" {
		return nil, fmt.Errorf("curve %q is not supported; Koujing verifies EC keys on P-256 (ES256)", jwk.Crv)
	}
	x, y, err := decodeKeyParts("x", jwk.X, "y", jwk.Y)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("x and y of a P-256 key are 32 bytes each, not %d and %d", len(x), len(y))
	}
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("x and y are not a point on P-256; copy them again from the issuer's key set")
	}
	return key, nil
}

// decodeKeyParts decodes the two base64url members of a JSON Web Key that make its public key,
// named member1 and member2 for messages.
func decodeKeyParts(member1, s1, member2, s2 string) (b1, b2 []byte, err error) {
	decode := func(member, s string) ([]byte, error) {
		if s == "" {
			return nil, fmt.Errorf("no %s", member)
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("%s is not base64url", member)
		}
		return b, nil
	}
	if b1, err = decode(member1, s1); err != nil {
		return nil, nil, err
	}
	if b2, err = decode(member2, s2); err != nil {
		return nil, nil, err
	}
	return b1, b2, nil
}

// algorithms returns the algorithms the keys verify, each once, RS256 before ES256.
func (ks *jwksKeys) algorithms() []string {
	var algs []string
	for _, alg := range []string{algRS256, algES256} {
		for _, k := range ks.keys {
			if k.alg == alg {
				algs = append(algs, alg)
				break
			}
		}
	}
	return algs
}

// keyFor returns the key a token signed with alg and naming kid is verified with: the key of
// that kid, or, for a token without kid, every key of the algorithm (golang-jwt tries each).
// The key's type must match alg, so that a key is never used with an algorithm it is not for.
func (ks *jwksKeys) keyFor(alg, kid string) (any, error) {
	if kid != "" {
		k := ks.byKID[kid]
		if k == nil {
			return nil, &authError{msg: fmt.Sprintf("the token names key %s, which is not among the server's keys; get a token signed with a current key", quoteShort(kid))}
		}
		if k.alg != alg {
			return nil, &authError{msg: fmt.Sprintf("the token is signed with %s, but its key %s is for %s; the token was not issued for this server", alg, quoteShort(kid), k.alg)}
		}
		return k.key, nil
	}
	var set jwt.VerificationKeySet
	for _, k := range ks.keys {
		if k.alg == alg {
			set.Keys = append(set.Keys, k.key)
		}
	}
	if len(set.Keys) == 1 {
		return set.Keys[0], nil
	}
	return set, nil
}

// quoteShort quotes a value taken from a token for a message, cut short so that a hostile token
// cannot flood logs.
func quoteShort(s string) string {
	const most = 64
	if len(s) > most {
		s = s[:most] + "…"
	}
	return fmt.Sprintf("%q", s)
}
