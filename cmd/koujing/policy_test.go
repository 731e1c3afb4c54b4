package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic/demo"
)

// testJWTSecret signs the tokens of these tests; servers read it from $KOUJING_JWT_SECRET.
const testJWTSecret = "koujing-cmd-test-secret-0123456789abcdef"

// lockedBuffer is a buffer a server may log to while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withoutRequests is the log without its lines about HTTP requests, which polling makes many of.
func (b *lockedBuffer) withoutRequests() string {
	var out []string
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if !strings.Contains(line, `msg="http request"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// testServer is koujing serve running in-process, as main runs it, on a free port.
type testServer struct {
	base   string
	stderr *lockedBuffer
	stop   context.CancelFunc
	done   chan int
	once   sync.Once
}

// freeAddr returns a local address nothing listens on, for now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs koujing serve with args on a free port; it is stopped, as a signal stops it,
// when the test ends, and must then exit 0. Call waitUp before asking it anything.
func startServe(t *testing.T, args ...string) *testServer {
	t.Helper()
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	s := &testServer{base: "http://" + addr, stderr: &lockedBuffer{}, stop: stop, done: make(chan int, 1)}
	go func() {
		// The SQL API is off unless a test turns it on, so that servers of parallel tests do
		// not contend for its port.
		s.done <- run(ctx, append([]string{"serve", "--addr", addr, "--sql-addr", "off"}, args...), io.Discard, s.stderr)
	}()
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// waitUp waits until the server answers /healthz.
func (s *testServer) waitUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("serve exited %d before answering:\n%s", code, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shutdown stops the server and checks that it exits 0 soon.
func (s *testServer) shutdown(t *testing.T) {
	s.once.Do(func() {
		s.stop()
		select {
		case code := <-s.done:
			if code != 0 {
				t.Errorf("serve exited %d:\n%s", code, s.stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop after the signal")
		}
	})
}

// graphQLResponse is a GraphQL answer: its data, and the codes of its errors.
type graphQLResponse struct {
	Data   json.RawMessage
	Errors []struct {
		Message    string
		Extensions struct{ Code string }
	}
}

// graphQL posts a query to the server as the token's principal, or with no credentials when
// token is "".
func (s *testServer) graphQL(t *testing.T, token, query string) graphQLResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out graphQLResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: status %s: %v", s.base, resp.Status, err)
	}
	return out
}

// demoToken returns a token for a role of the demo's policy.
func demoToken(t *testing.T, sub, role string) string {
	t.Helper()
	tok, err := authz.SignToken([]byte(testJWTSecret), map[string]any{
		"sub": sub, "tenant": "demo", "roles": []string{role}, "exp": time.Now().Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// propagationBound is how soon a change made on one replica must apply on another: the
// requirement. giveUpAfter is when the tests stop waiting, so that a replica that is slow rather
// than deaf is reported with the time it took.
const (
	propagationBound = time.Second
	giveUpAfter      = 5 * time.Second
)

// waitForPolicy polls the server every 20ms until the token may (or may not) query order_count,
// and returns how long that took from since.
func waitForPolicy(t *testing.T, s *testServer, token string, queryable bool, since time.Time) time.Duration {
	t.Helper()
	for {
		res := s.graphQL(t, token, `{ query(input: {metrics: ["order_count"]}) { rowCount } }`)
		if ok := len(res.Errors) == 0; ok == queryable {
			return time.Since(since)
		}
		if !queryable && len(res.Errors) > 0 && res.Errors[0].Extensions.Code != "FORBIDDEN" {
			t.Fatalf("order_count failed otherwise than FORBIDDEN: %+v", res.Errors)
		}
		if time.Since(since) > giveUpAfter {
			t.Fatalf("%s did not apply the change within %s (queryable: %v; last answer %s %+v)\n%s", s.base, giveUpAfter, queryable, res.Data, res.Errors, s.stderr.withoutRequests())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeReplicasSharePolicy starts two replicas on one new policy database, at once: one
// seeds it with the demo's policy; a grant on one applies on the other within a second, and so
// does a revoke made on the other.
func TestServeReplicasSharePolicy(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	t.Setenv(jwtSecretEnv, testJWTSecret)
	admin, viewer := demoToken(t, "ada", "admin"), demoToken(t, "vic", "viewer")

	// A names the database with the flag, B with the environment.
	t.Setenv(policyURLEnv, pgtest.URL())
	a := startServe(t, "--demo-scale", "0.01", "--policy-url", pgtest.URL(), "--policy-schema", schema)
	b := startServe(t, "--demo-scale", "0.01", "--policy-schema", schema)
	a.waitUp(t)
	b.waitUp(t)

	// Both started on an empty store; it was seeded once.
	st, err := authz.ParsePolicyFile(demo.PolicyFile, demo.Policy)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*testServer{a, b} {
		var got struct {
			AccessPolicy struct{ Rules []struct{ Line string } }
		}
		res := s.graphQL(t, admin, `{ accessPolicy { rules { line } } }`)
		if err := json.Unmarshal(res.Data, &got); err != nil || len(res.Errors) > 0 {
			t.Fatalf("accessPolicy on %s: %v %+v", s.base, err, res.Errors)
		}
		if n := len(got.AccessPolicy.Rules); n != len(st.Rules) {
			t.Errorf("%s: %d rules, want the demo's %d", s.base, n, len(st.Rules))
		}
	}
	var seeded int
	audit := pgx.Identifier{schema, "koujing_authz_audit"}.Sanitize()
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+audit+` WHERE actor = $1`, seedActor).Scan(&seeded); err != nil {
		t.Fatal(err)
	}
	if seeded != len(st.Rules) {
		t.Errorf("%d rules added by %s in the audit log, want %d: seeded more than once?", seeded, seedActor, len(st.Rules))
	}

	// A viewer may not query, until an admin on A lets them; B hears of it.
	if res := b.graphQL(t, viewer, `{ query(input: {metrics: ["order_count"]}) { rowCount } }`); len(res.Errors) == 0 {
		t.Fatalf("a viewer may query before the grant: %s", res.Data)
	}
	grant := `{subject: "viewer", object: "metric:order_count", action: "query"}`
	start := time.Now()
	if res := a.graphQL(t, admin, `mutation { grant(input: `+grant+`) { seq } }`); len(res.Errors) > 0 {
		t.Fatalf("grant on A: %+v", res.Errors)
	}
	took := waitForPolicy(t, b, viewer, true, start)
	t.Logf("a grant on A applied on B after %s", took)
	// The bound is the requirement, and holds under -race too: the notification, a reload of ~30
	// rules and one small query take milliseconds there as well; giveUpAfter is far above it.
	if took > propagationBound {
		t.Errorf("a grant on A took %s to apply on B, more than %s", took, propagationBound)
	}

	start = time.Now()
	if res := b.graphQL(t, admin, `mutation { revokeGrant(input: `+grant+`) { seq } }`); len(res.Errors) > 0 {
		t.Fatalf("revoke on B: %+v", res.Errors)
	}
	took = waitForPolicy(t, a, viewer, false, start)
	t.Logf("a revoke on B applied on A after %s", took)
	if took > propagationBound {
		t.Errorf("a revoke on B took %s to apply on A, more than %s", took, propagationBound)
	}

	// koujing query --token answers under the same policy. The servers stop first: a command
	// run in-process takes over the default logger they log to.
	a.shutdown(t)
	b.shutdown(t)
	for _, tt := range []struct {
		token, out, stderr string
	}{
		{demoToken(t, "ann", "analyst"), "[[10000]]\n", ""},
		{viewer, "", "vic may see metric order_count but not query it"},
	} {
		_, out, errOut := koujing(t, t.Context(), "query", "--demo-scale", "0.01", "--policy-url", pgtest.URL(), "--policy-schema", schema,
			"--token", tt.token, "--metric", "order_count", "--format", "json")
		if out != tt.out || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("query --token: %q, want %q saying %q:\n%s", out, tt.out, tt.stderr, errOut)
		}
	}
}

// TestServeRefusesPolicy checks that serve refuses, at start and soon, a policy it cannot use.
func TestServeRefusesPolicy(t *testing.T) {
	closed := "postgres://postgres@" + freeAddr(t) + "/test?sslmode=disable"
	// A server that takes connections and never answers, like one behind a broken network.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	policy := filepath.Join(t.TempDir(), "policy.csv")
	if err := os.WriteFile(policy, []byte("# roles\np, analyst, demo, *, read, allow\np, analyst, demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		env  string
		args []string
		code int
		want []string
	}{
		{"both", "", []string{"--policy", policy, "--policy-url", closed}, 2, []string{"not both"}},
		{"file and environment", closed, []string{"--policy", policy}, 2, []string{"--policy", "unset " + policyURLEnv}},
		{"closed port", "", []string{"--policy-url", closed}, 1, []string{"policy store unavailable", "connection refused", "--policy-url"}},
		{"silent server", "", []string{"--policy-url", "postgres://postgres@" + silent.Addr().String() + "/test?sslmode=disable&connect_timeout=1"},
			1, []string{"policy store unavailable", "timeout"}},
		{"broken file", "", []string{"--policy", policy}, 1, []string{policy + ":3: "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(policyURLEnv, tt.env)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			code, _, errOut := koujing(t, ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--demo-scale", "0.01"}, tt.args...)...)
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("took %s to refuse", took)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestPolicyURLFromEnvironment checks which of --policy-url and $KOUJING_POLICY_URL wins.
func TestPolicyURLFromEnvironment(t *testing.T) {
	for _, tt := range []struct {
		flag, env, want string
	}{
		{"", "postgres://env/db", "postgres://env/db"},
		{"postgres://flag/db", "postgres://env/db", "postgres://flag/db"},
		{"postgres://flag/db", "", "postgres://flag/db"},
		{"", "", ""},
	} {
		t.Setenv(policyURLEnv, tt.env)
		f := accessFlags{policyURL: tt.flag, policySchema: "public"}
		if err := f.check(); err != nil || f.policyURL != tt.want {
			t.Errorf("--policy-url %q, $%s %q: %q, %v; want %q", tt.flag, policyURLEnv, tt.env, f.policyURL, err, tt.want)
		}
	}
}

// TestPolicyDatabaseSeededFromModels checks that a new policy database serving one's own
// definitions starts with the policy.csv kept beside them, rather than empty.
func TestPolicyDatabaseSeededFromModels(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	t.Setenv(jwtSecretEnv, testJWTSecret)
	dir := t.TempDir()
	if err := demo.Write(dir, func(table string) string { return "{connection: demo, table: " + table + "}" }); err != nil {
		t.Fatal(err)
	}
	policy := "p, analyst, demo, metric:order_count, *, allow\n"
	if err := os.WriteFile(filepath.Join(dir, policyInDir), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	query := func(metric string) (int, string, string) {
		return koujing(t, t.Context(), "query", "--models", dir, "--demo-scale", "0.01", "--policy-url", pgtest.URL(), "--policy-schema", schema,
			"--token", demoToken(t, "ann", "analyst"), "--metric", metric, "--format", "json")
	}
	if code, out, errOut := query("order_count"); code != 0 || out != "[[10000]]\n" {
		t.Errorf("order_count as the seeded policy's analyst: exit %d, %q\n%s", code, out, errOut)
	}
	if code, _, errOut := query("gmv_paid"); code == 0 || !strings.Contains(errOut, `unknown metric "gmv_paid"`) {
		t.Errorf("gmv_paid, which the seeded policy does not grant: exit %d\n%s", code, errOut)
	}
	// The file seeds a new store only: a rule added to it later stays out of the database.
	if err := os.WriteFile(filepath.Join(dir, policyInDir), []byte(policy+"p, analyst, demo, metric:gmv_paid, *, allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := query("gmv_paid"); code == 0 {
		t.Error("the file seeded the store a second time")
	}
}
