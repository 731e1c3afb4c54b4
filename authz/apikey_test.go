package authz_test

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/koujing/koujing/authz"
)

func TestNewAPIKey(t *testing.T) {
	roles := []string{"viewer", "exporter"}
	text, key, err := authz.NewAPIKey("demo", "nightly export", roles, "alice@demo", testNow.In(time.FixedZone("CST", 8*3600)))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^kj_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("text %q is not kj_<12 base32>_<43 base64url>", text)
	}
	secret, err := base64.RawURLEncoding.DecodeString(m[2])
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256(secret)
	want := authz.APIKey{ID: m[1], Tenant: "demo", Name: "nightly export", Roles: roles, Hash: hash[:], CreatedAt: testNow, CreatedBy: "alice@demo"}
	if !slices.Equal(key.Hash, want.Hash) || key.ID != want.ID || key.Tenant != want.Tenant || key.Name != want.Name ||
		!slices.Equal(key.Roles, want.Roles) || key.CreatedAt != want.CreatedAt || key.CreatedBy != want.CreatedBy || key.Revoked() {
		t.Errorf("key = %+v\nwant %+v", key, want)
	}
	if strings.Contains(authz.FormatAPIKeyLine(key), m[2]) {
		t.Errorf("the stored line holds the secret")
	}
	roles[0] = "admin"
	if key.Roles[0] != "viewer" {
		t.Errorf("the key shares its roles with the caller")
	}
	again, _, err := authz.NewAPIKey("demo", "nightly export", roles, "alice@demo", testNow)
	if err != nil || again[:15] == text[:15] || again[16:] == text[16:] {
		t.Errorf("two keys share an ID or a secret: %v", err)
	}
}

func TestNewAPIKeyRefuses(t *testing.T) {
	cases := []struct {
		name, tenant, keyName string
		roles                 []string
		err                   string
	}{
		{name: "no tenant", keyName: "export", err: "the tenant is empty"},
		{name: "wildcard tenant", tenant: "*", keyName: "export", err: `the tenant "*" has a wildcard; only objects and actions are patterns`},
		{name: "no name", tenant: "demo", keyName: " ", err: "the api key has no name; say what it is for, such as nightly-export"},
		{name: "empty role", tenant: "demo", keyName: "export", roles: []string{""}, err: "the role is empty"},
		{name: "role with a space", tenant: "demo", keyName: "export", roles: []string{"east sales"}, err: `the role "east sales" has a space; role names are single words`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, _, err := authz.NewAPIKey(c.tenant, c.keyName, c.roles, "alice@demo", testNow)
			if text != "" || err == nil || err.Error() != c.err {
				t.Errorf("NewAPIKey = %q, %v; want error %s", text, err, c.err)
			}
		})
	}
}

func TestVerifyAPIKey(t *testing.T) {
	text, key, err := authz.NewAPIKey("demo", "export", []string{"viewer"}, "alice@demo", testNow)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := authz.NewAPIKey("demo", "export", []string{"viewer"}, "alice@demo", testNow)
	if err != nil {
		t.Fatal(err)
	}
	revoked := key
	revoked.RevokedAt = testNow.Add(time.Hour)
	noTenant := key
	noTenant.Tenant = ""
	stored := func(k authz.APIKey) authz.APIKeyLookup {
		return func(id string) (*authz.APIKey, bool) { return &k, id == k.ID }
	}
	id := key.ID
	wrongSecret := text[:16] + other[16:]
	const malformed = "unauthenticated: the API key is malformed; send it exactly as it was issued (kj_, 12 characters, _, 43 characters)"
	cases := []struct {
		name   string
		text   string
		lookup authz.APIKeyLookup
		want   *authz.Principal
		err    string
	}{
		{name: "valid", text: text, lookup: stored(key),
			want: &authz.Principal{Subject: "api_key:" + id, Tenant: "demo", Roles: []string{"viewer"}, Method: authz.MethodAPIKey}},
		{name: "wrong secret", text: wrongSecret, lookup: stored(key), err: "unauthenticated: the API key " + id + " has a wrong secret; send the whole key as it was issued"},
		{name: "unknown ID", text: other, lookup: stored(key), err: "unauthenticated: the API key " + other[3:15] + " is not known; ask an admin of the tenant for a new one"},
		{name: "revoked", text: text, lookup: stored(revoked), err: "unauthenticated: the API key " + id + " was revoked at 2026-11-30T10:00:00Z; ask an admin of the tenant for a new one"},
		{name: "revoked, wrong secret", text: wrongSecret, lookup: stored(revoked), err: "unauthenticated: the API key " + id + " has a wrong secret; send the whole key as it was issued"},
		{name: "stored without tenant", text: text, lookup: stored(noTenant), err: "unauthenticated: the API key " + id + " is stored without a tenant; ask an admin of the tenant for a new one"},
		{name: "no lookup", text: text, err: "unauthenticated: this server accepts no API keys; send a JWT as Authorization: Bearer <token>"},
		{name: "empty", text: "", lookup: stored(key), err: malformed},
		{name: "prefix only", text: "kj_", lookup: stored(key), err: malformed},
		{name: "cut short", text: text[:len(text)-1], lookup: stored(key), err: malformed},
		{name: "one character more", text: text + "A", lookup: stored(key), err: malformed},
		{name: "other prefix", text: "kx" + text[2:], lookup: stored(key), err: malformed},
		{name: "ID in upper case", text: "kj_" + strings.ToUpper(id) + text[15:], lookup: stored(key), err: malformed},
		{name: "no separator", text: text[:15] + "." + text[16:], lookup: stored(key), err: malformed},
		{name: "secret not base64url", text: text[:16] + "+" + text[17:], lookup: stored(key), err: malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := authz.VerifyAPIKey(c.text, c.lookup)
			checkAuthn(t, got, err, c.want, c.err)
			if err != nil && len(c.text) > 16 && strings.Contains(err.Error(), c.text[16:]) {
				t.Errorf("the error repeats the secret")
			}
		})
	}
}
