package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/koujing/koujing/authz"
)

// runToken prints a JWT signed with $KOUJING_JWT_SECRET, so that each role of a policy can be
// tried with a token of one's own making.
func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token", "--sub NAME [--tenant T] [--role R] [--claim NAME=VALUE] [--ttl D]", stderr)
	sub := fs.String("sub", "", "the subject: the user the token is for")
	tenant := fs.String("tenant", "demo", "the tenant whose policy applies")
	var roles listFlag
	fs.Var(&roles, "role", "a role the token carries (repeat, or separate with commas)")
	var claims rawListFlag
	fs.Var(&claims, "claim", `another claim, usable in row filters as {user.NAME}: region=east, or a JSON value such as regions=["east","north"] (repeat)`)
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if *sub == "" {
		return usageError("name the token's subject with --sub")
	}
	if *ttl <= 0 {
		return usageError("--ttl must be positive, such as 1h")
	}
	secret := os.Getenv(jwtSecretEnv)
	if secret == "" {
		return usageError("set %s to the secret the server verifies tokens with, such as the output of: openssl rand -hex 32", jwtSecretEnv)
	}
	now := time.Now()
	c := map[string]any{"sub": *sub, "tenant": *tenant, "roles": []string(roles), "iat": now.Unix(), "exp": now.Add(*ttl).Unix()}
	if roles == nil {
		c["roles"] = []string{}
	}
	for _, kv := range claims {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return usageError("--claim takes NAME=VALUE, such as region=east; got %q", kv)
		}
		if _, reserved := c[name]; reserved {
			return usageError("--claim %s: set it with its own flag", name)
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			v = value // not JSON: a string
		}
		c[name] = v
	}
	tok, err := authz.SignToken([]byte(secret), c)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
