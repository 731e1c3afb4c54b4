package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/webhook"
)

// testWebhookSecret signs the webhook calls of these tests; servers read it from
// $KOUJING_WEBHOOK_SECRET.
const testWebhookSecret = "koujing-cmd-webhook-secret"

// hookReceiver collects the webhook calls a server sends, checking each signature.
type hookReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []hookCall
}

type hookCall struct {
	event, delivery string
	signed          bool
	body            map[string]any
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var payload map[string]any
		_ = json.Unmarshal(body, &payload)
		h.mu.Lock()
		h.calls = append(h.calls, hookCall{event: r.Header.Get(webhook.HeaderEvent), delivery: r.Header.Get(webhook.HeaderDelivery),
			signed: webhook.Verify([]byte(testWebhookSecret), body, r.Header.Get(webhook.HeaderSignature)), body: payload})
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// waitFor waits until a call of the event has arrived and returns it.
func (h *hookReceiver) waitFor(t *testing.T, event string) hookCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		for _, c := range h.calls {
			if c.event == event {
				h.mu.Unlock()
				return c
			}
		}
		got := len(h.calls)
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook call arrived (%d others did)", event, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProposeAndExport runs koujing serve on a metadata store in a file, exports its published
// definitions (which validate, and propose nothing), proposes a change made to them, approves it
// over GraphQL, and checks that the workflow's webhook calls arrive signed, and that policy
// changes and refused logins are in the audit log.
func TestProposeAndExport(t *testing.T) {
	t.Setenv(jwtSecretEnv, testJWTSecret)
	t.Setenv(webhookSecretEnv, testWebhookSecret)
	hooks := newHookReceiver(t)
	s := startServe(t, "--demo-scale", "0.01", "--store", filepath.Join(t.TempDir(), "koujing.db"), "--webhook", hooks.srv.URL+"/koujing")
	s.waitUp(t)
	ann, sam, ada := demoToken(t, "ann", "analyst"), demoToken(t, "sam", "sales_steward"), demoToken(t, "ada", "admin")
	ctx := t.Context()

	dir := filepath.Join(t.TempDir(), "models")
	code, out, errOut := koujing(t, ctx, "export", dir, "--server", s.base, "--token", ann)
	if code != 0 || out != "Wrote 46 definitions to "+dir+".\n" {
		t.Fatalf("export: exit %d, %q\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "metrics", "aov.yaml")); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := koujing(t, ctx, "validate", dir); code != 0 || !strings.Contains(out, "ok (5 models, 38 metrics)") {
		t.Fatalf("validate the export: exit %d, %q\n%s", code, out, errOut)
	}
	if code, out, errOut := koujing(t, ctx, "propose", dir, "--server", s.base, "--token", ann); code != 0 || !strings.HasPrefix(out, "Nothing to propose") {
		t.Fatalf("propose the export: exit %d, %q\n%s", code, out, errOut)
	}

	aov := filepath.Join(dir, "metrics", "aov.yaml")
	text, err := os.ReadFile(aov)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(aov, []byte(strings.Replace(string(text), "label: Average order value", "label: AOV (paid)", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = koujing(t, ctx, "propose", "--server", s.base, "--token", ann, "--title", "relabel aov", "--rationale", "shorter", dir)
	if code != 0 || !strings.HasPrefix(out, "Change request 1 (open): relabel aov\n  update  metric aov: version 2, from version 1\n") ||
		!strings.Contains(out, "Reviewed by the owners of sales (1 approval(s) each)") || !strings.Contains(out, "ID: ") || !strings.Contains(out, "URL: "+s.base+"/graphql?query=") {
		t.Fatalf("propose: exit %d, %q\n%s", code, out, errOut)
	}
	proposed := hooks.waitFor(t, "change_request.proposed")
	if !proposed.signed || proposed.delivery == "" || proposed.body["object"] != "change_request:1" || proposed.body["actor"] != "ann@demo" {
		t.Errorf("the proposal's webhook call: %+v", proposed)
	}

	res := s.graphQL(t, sam, `{ changeRequest(id: "1") { id revision } }`)
	var cr struct {
		ChangeRequest struct {
			ID       string
			Revision int
		}
	}
	if err := json.Unmarshal(res.Data, &cr); err != nil || len(res.Errors) > 0 {
		t.Fatalf("change request: %v %+v", err, res.Errors)
	}
	res = s.graphQL(t, sam, `mutation { reviewChangeRequest(input: {id: "`+cr.ChangeRequest.ID+`", revision: `+jsonInt(cr.ChangeRequest.Revision)+`, decision: APPROVE}) { status } }`)
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"PUBLISHED"`) {
		t.Fatalf("approve: %s %+v", res.Data, res.Errors)
	}
	published := hooks.waitFor(t, "change_request.published")
	if !published.signed || published.delivery == proposed.delivery {
		t.Errorf("the publication's webhook call: %+v", published)
	}
	// What is published now is what the files say.
	if code, out, _ := koujing(t, ctx, "propose", dir, "--server", s.base, "--token", ann); code != 0 || !strings.HasPrefix(out, "Nothing to propose") {
		t.Errorf("propose after the publication: exit %d, %q", code, out)
	}
	again := filepath.Join(t.TempDir(), "again")
	if code, _, errOut := koujing(t, ctx, "export", "--server", s.base, "--token", ann, again); code != 0 {
		t.Fatalf("export again: %s", errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(again, "metrics", "aov.yaml")); !strings.Contains(string(b), "label: AOV (paid)") {
		t.Errorf("the export after the publication:\n%s", b)
	}

	// A policy change and a refused login land in the audit log.
	if res := s.graphQL(t, ada, `mutation { grant(input: {subject: "viewer", object: "metric:order_count", action: "query"}) { seq } }`); len(res.Errors) > 0 {
		t.Fatalf("grant: %+v", res.Errors)
	}
	forged, err := authz.SignToken([]byte("not the server's secret, but long enough"), map[string]any{
		"sub": "mallory", "tenant": "demo", "roles": []string{"admin"}, "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if res := s.graphQL(t, forged, `{ viewer { subject } }`); len(res.Errors) == 0 {
		t.Fatal("a forged token was accepted")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := s.graphQL(t, ada, `{ auditEvents(first: 100, filter: {types: ["policy", "login.failed", "definition.published"]}) { edges { node { type actor detail } } } }`)
		body := string(res.Data)
		if len(res.Errors) == 0 && strings.Contains(body, `"type":"policy.add_rule","actor":"ada@demo"`) && strings.Contains(body, `"type":"login.failed","actor":"mallory@demo"`) &&
			strings.Contains(body, `"type":"definition.published","actor":"ann@demo"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log: %s %+v", body, res.Errors)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Export as a viewer: finance's metrics are not theirs to read.
	viewerDir := filepath.Join(t.TempDir(), "viewer")
	if code, out, _ := koujing(t, ctx, "export", viewerDir, "--server", s.base, "--token", demoToken(t, "vic", "viewer")); code != 0 || !strings.HasPrefix(out, "Wrote ") || strings.HasPrefix(out, "Wrote 27 ") {
		t.Errorf("a viewer's export: exit %d, %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(viewerDir, "metrics", "coupon_rate.yaml")); err == nil {
		t.Error("a viewer exported a finance metric")
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestProposeUsage checks the refusals that need no server.
func TestProposeUsage(t *testing.T) {
	ctx := t.Context()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"propose"}, 2, "give exactly one definitions directory"},
		{[]string{"export"}, 2, "give exactly one directory"},
		{[]string{"propose", "--server", "ftp://x", "."}, 2, "not an http(s) URL"},
		{[]string{"propose", "--server", "http://127.0.0.1:1", t.TempDir()}, 1, "holds no .yaml"},
	} {
		code, _, errOut := koujing(t, ctx, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %q; want %d saying %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}
