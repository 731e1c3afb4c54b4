package authz_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/koujing/koujing/authz"
)

// authnKeys are the key pairs the identity tests sign with; generating RSA keys is slow, so they
// are made once.
type authnKeys struct {
	rsa, rsa2, rsaOther *rsa.PrivateKey // rsaOther is in no JWKS file
	ec, ec2, ecOther    *ecdsa.PrivateKey
}

var testAuthnKeys = sync.OnceValue(func() *authnKeys {
	newRSA := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	newEC := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	return &authnKeys{rsa: newRSA(), rsa2: newRSA(), rsaOther: newRSA(), ec: newEC(), ec2: newEC(), ecOther: newEC()}
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaJWK is the public half of k as a JSON Web Key.
func rsaJWK(kid string, k *rsa.PrivateKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

// ecJWK is the public half of k as a JSON Web Key.
func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]any {
	point, err := k.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	size := (len(point) - 1) / 2
	return map[string]any{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name, "x": b64(point[1 : 1+size]), "y": b64(point[1+size:])}
}

// writeJWKS writes a key set to a file of its own and returns the file's path.
func writeJWKS(t testing.TB, keys ...map[string]any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return writeJWKSText(t, string(data))
}

func writeJWKSText(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// with returns a copy of a JSON Web Key with members changed; a nil value removes the member.
func with(jwk map[string]any, members ...any) map[string]any {
	out := map[string]any{}
	for k, v := range jwk {
		out[k] = v
	}
	for i := 0; i < len(members); i += 2 {
		if members[i+1] == nil {
			delete(out, members[i].(string))
			continue
		}
		out[members[i].(string)] = members[i+1]
	}
	return out
}

func TestJWKSFileErrors(t *testing.T) {
	keys := testAuthnKeys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, ecKey := rsaJWK("r1", keys.rsa), ecJWK("e1", keys.ec)
	offCurve := with(ecKey, "y", ecKey["x"])
	cases := []struct {
		name string
		text string // the file's content, when keys is nil
		keys []map[string]any
		want string
	}{
		{name: "not JSON", text: "keys: []", want: `not a JSON Web Key Set (invalid character 'k' looking for beginning of value); write {"keys": [{"kty": "RSA", "kid": ..., "n": ..., "e": ...}]}`},
		{name: "no keys member", text: `{"kty": "RSA"}`, want: `no "keys" array; a JSON Web Key Set is {"keys": [...]}`},
		{name: "keys not an array", text: `{"keys": {}}`, want: `not a JSON Web Key Set (json: cannot unmarshal object into Go struct field .keys of type []authz.jsonWebKey); write {"keys": [{"kty": "RSA", "kid": ..., "n": ..., "e": ...}]}`},
		{name: "empty", text: `{"keys": []}`, want: "no signature keys; add the RSA or EC P-256 public keys tokens are signed with"},
		{name: "only encryption keys", keys: []map[string]any{with(rsaKey, "use", "enc")}, want: "no signature keys; add the RSA or EC P-256 public keys tokens are signed with"},
		{name: "no kty", keys: []map[string]any{with(rsaKey, "kty", nil)}, want: `key 1 (kid "r1"): no kty; write "kty": "RSA" or "kty": "EC"`},
		{name: "symmetric key", keys: []map[string]any{{"kty": "oct", "k": "c2VjcmV0"}}, want: "key 1: holds private key material; publish only the public key"},
		{name: "private RSA key", keys: []map[string]any{rsaKey, with(rsaKey, "kid", "r2", "d", "AQAB")}, want: `key 2 (kid "r2"): holds private key material; publish only the public key`},
		{name: "unsupported kty", keys: []map[string]any{{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}}, want: `key 1: kty "OKP" is not supported; Koujing verifies RSA (RS256) and EC P-256 (ES256) keys`},
		{name: "bad use", keys: []map[string]any{with(rsaKey, "use", "sign")}, want: `key 1 (kid "r1"): use "sign" is neither sig nor enc`},
		{name: "RSA without n", keys: []map[string]any{with(rsaKey, "n", nil)}, want: `key 1 (kid "r1"): no n`},
		{name: "RSA n not base64url", keys: []map[string]any{with(rsaKey, "n", "a+b/")}, want: `key 1 (kid "r1"): n is not base64url`},
		{name: "RSA modulus too small", keys: []map[string]any{rsaJWK("small", small)}, want: `key 1 (kid "small"): the RSA modulus has 1024 bits; use a key of at least 2048`},
		{name: "RSA exponent even", keys: []map[string]any{with(rsaKey, "e", b64([]byte{1, 0, 0}))}, want: `key 1 (kid "r1"): the RSA exponent e is not an odd number from 3 to 2^31-1 (it is usually AQAB, 65537)`},
		{name: "RSA key for RS512", keys: []map[string]any{with(rsaKey, "alg", "RS512")}, want: `key 1 (kid "r1"): alg "RS512" is not supported for a RSA key; Koujing verifies RS256 with it`},
		{name: "EC on P-384", keys: []map[string]any{ecJWK("p384", p384)}, want: `key 1 (kid "p384"): curve "P-384" is not supported; Koujing verifies EC keys on P-256 (ES256)`},
		{name: "EC point off the curve", keys: []map[string]any{offCurve}, want: `key 1 (kid "e1"): x and y are not a point on P-256; copy them again from the issuer's key set`},
		{name: "EC x too short", keys: []map[string]any{with(ecKey, "x", b64([]byte{1, 2, 3}))}, want: `key 1 (kid "e1"): x and y of a P-256 key are 32 bytes each, not 3 and 32`},
		{name: "EC without y", keys: []map[string]any{with(ecKey, "y", nil)}, want: `key 1 (kid "e1"): no y`},
		{name: "same kid twice", keys: []map[string]any{rsaKey, with(ecKey, "kid", "r1")}, want: `key 2 (kid "r1"): another key has the same kid; give each key its own`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.keys != nil {
				path = writeJWKS(t, c.keys...)
			} else {
				path = writeJWKSText(t, c.text)
			}
			a, err := authz.NewAuthenticator(authz.AuthenticatorOptions{JWKSFile: path})
			if a != nil || err == nil {
				t.Fatalf("NewAuthenticator = %v, %v; want an error", a, err)
			}
			if want := "JWKS file " + path + ": " + c.want; err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.json")
		_, err := authz.NewAuthenticator(authz.AuthenticatorOptions{JWKSFile: path})
		if !errors.Is(err, os.ErrNotExist) || err.Error() != "read JWKS file: open "+path+": no such file or directory" {
			t.Errorf("error = %v; want the file's absence", err)
		}
	})
}

// jwksAuthenticator verifies tokens with the keys of a JWKS file of its own, whose path it returns.
func jwksAuthenticator(t *testing.T, keys ...map[string]any) (*authz.Authenticator, string) {
	t.Helper()
	path := writeJWKS(t, keys...)
	a, err := authz.NewAuthenticator(authz.AuthenticatorOptions{JWKSFile: path, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return a, path
}

func TestJWKSSkipsEncryptionKeys(t *testing.T) {
	keys := testAuthnKeys()
	a, _ := jwksAuthenticator(t, with(rsaJWK("enc", keys.rsa2), "use", "enc", "alg", "RSA-OAEP"), rsaJWK("sig", keys.rsa))
	_, err := a.AuthenticateToken(signAsym(t, jwt.SigningMethodRS256, keys.rsa2, "enc", aliceClaims()))
	if want := `unauthenticated: the token names key "enc", which is not among the server's keys; get a token signed with a current key`; err == nil || err.Error() != want {
		t.Errorf("token signed with the encryption key: error = %v; want %s", err, want)
	}
	if _, err := a.AuthenticateToken(signAsym(t, jwt.SigningMethodRS256, keys.rsa, "sig", aliceClaims())); err != nil {
		t.Errorf("token signed with the signature key: %v", err)
	}
}

func TestReloadJWKSRotatesKeys(t *testing.T) {
	keys := testAuthnKeys()
	a, path := jwksAuthenticator(t, rsaJWK("old", keys.rsa))
	oldToken := signAsym(t, jwt.SigningMethodRS256, keys.rsa, "old", aliceClaims())
	newToken := signAsym(t, jwt.SigningMethodES256, keys.ec, "new", aliceClaims())
	rewrite := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name      string
		file      string // the file's new content; empty leaves it
		reloadErr string
		oldErr    string
		newErr    string
	}{
		{name: "before", newErr: `unauthenticated: the token is signed with "ES256"; this server accepts RS256`},
		{name: "rotated", file: mustJSON(t, map[string]any{"keys": []any{ecJWK("new", keys.ec)}}),
			oldErr: `unauthenticated: the token is signed with "RS256"; this server accepts ES256`},
		{name: "broken file keeps the keys", file: "{", reloadErr: "JWKS file " + path + `: not a JSON Web Key Set (unexpected end of JSON input); write {"keys": [{"kty": "RSA", "kid": ..., "n": ..., "e": ...}]}`,
			oldErr: `unauthenticated: the token is signed with "RS256"; this server accepts ES256`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.file != "" {
				rewrite(s.file)
				if err := a.ReloadJWKS(); errText(err) != s.reloadErr {
					t.Fatalf("ReloadJWKS: error = %q; want %q", errText(err), s.reloadErr)
				}
			}
			if _, err := a.AuthenticateToken(oldToken); errText(err) != s.oldErr {
				t.Errorf("old key: error = %q; want %q", errText(err), s.oldErr)
			}
			if _, err := a.AuthenticateToken(newToken); errText(err) != s.newErr {
				t.Errorf("new key: error = %q; want %q", errText(err), s.newErr)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errText is an error's message, or empty for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	if !errors.Is(err, authz.ErrUnauthenticated) && strings.HasPrefix(err.Error(), "unauthenticated") {
		return "does not wrap ErrUnauthenticated: " + err.Error()
	}
	return err.Error()
}

func TestReloadJWKSWhileAuthenticating(t *testing.T) {
	keys := testAuthnKeys()
	a, _ := jwksAuthenticator(t, rsaJWK("r1", keys.rsa))
	token := signAsym(t, jwt.SigningMethodRS256, keys.rsa, "r1", aliceClaims())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if _, err := a.AuthenticateToken(token); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 20 {
		if err := a.ReloadJWKS(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
