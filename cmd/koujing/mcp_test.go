package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/koujing/koujing/authz"
)

// stdioSession runs `koujing mcp ARGS` in-process with its stdin and stdout on pipes, and
// connects the SDK's own client to it. close ends the session and returns what the command
// returned.
func stdioSession(t *testing.T, args ...string) (cs *sdk.ClientSession, close func() error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		err := runMCP(context.Background(), append([]string{"--demo-scale", "0.01"}, args...), inR, outW, &stderr)
		outW.Close()
		inR.Close()
		done <- err
	}()
	c := sdk.NewClient(&sdk.Implementation{Name: "koujing-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &sdk.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		inW.Close()
		t.Fatalf("connect: %v (the command: %v; stderr: %s)", err, <-done, stderr.String())
	}
	return cs, func() error {
		cs.Close()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("koujing mcp did not stop when its client went away; stderr: %s", stderr.String())
			return nil
		}
	}
}

// TestMCPStdio runs `koujing mcp` over pipes with the SDK's own client: in demo mode as the
// demo user, then with an east_sales token, whose calls see only the east's rows. The command
// returns once the client closes the session, leaving no goroutine behind.
func TestMCPStdio(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv(jwtSecretEnv, testJWTSecret)

	cs, closeSession := stdioSession(t)
	tools, err := cs.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) != 6 {
		t.Fatalf("tools: %v, %v", tools, err)
	}
	byRegion := map[string]any{"metrics": []string{"order_count"}, "dimensions": []string{"orders.region"}}
	if rows := queryRows(t, cs, byRegion); len(rows) != 5 {
		t.Errorf("the demo user sees %d regions, want 5: %v", len(rows), rows)
	}
	if err := closeSession(); err != nil {
		t.Errorf("koujing mcp returned %v", err)
	}

	tok, err := authz.SignToken([]byte(testJWTSecret), map[string]any{
		"sub": "bob", "tenant": "demo", "roles": []string{"east_sales"}, "region": "east", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	cs, closeSession = stdioSession(t, "--token", tok)
	if rows := queryRows(t, cs, byRegion); len(rows) != 1 || rows[0][0] != "east" {
		t.Errorf("east_sales sees %v, want the east alone", rows)
	}
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "describe_metric", Arguments: map[string]any{"metric": "coupon_rate"}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*sdk.TextContent).Text, `NOT_FOUND: unknown metric "coupon_rate"`) {
		t.Errorf("east_sales describing coupon_rate: %+v, %v", res, err)
	}
	if err := closeSession(); err != nil {
		t.Errorf("koujing mcp returned %v", err)
	}

	var stderr lockedBuffer
	err = runMCP(context.Background(), []string{"--demo-scale", "0.01", "--token", "not-a-token"}, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--token") {
		t.Errorf("a bad token: %v, want a usage error naming --token", err)
	}
}

// queryRows calls query_metrics and returns its rows.
func queryRows(t *testing.T, cs *sdk.ClientSession, in map[string]any) [][]any {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "query_metrics", Arguments: in})
	if err != nil || res.IsError {
		t.Fatalf("query_metrics: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var out struct{ Rows [][]any }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Rows
}

// TestServeMCPAndArrow asks koujing serve over /mcp with the SDK's own client and over /arrow,
// with the same token: each answers as that token's principal, and a request to /mcp without
// one, outside demo mode, is refused with 401.
func TestServeMCPAndArrow(t *testing.T) {
	t.Setenv(jwtSecretEnv, testJWTSecret)
	s := startServe(t, "--demo-scale", "0.01")
	s.waitUp(t)
	tok := demoToken(t, "vic", "viewer")
	c := sdk.NewClient(&sdk.Implementation{Name: "koujing-test", Version: "1"}, nil)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
		return transport.RoundTrip(r)
	})}
	cs, err := c.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: s.base + "/mcp", HTTPClient: httpClient, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to /mcp: %v\n%s", err, s.stderr.String())
	}
	defer cs.Close()
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "query_metrics", Arguments: map[string]any{"metrics": []string{"order_count"}}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*sdk.TextContent).Text, "FORBIDDEN: vic may see metric order_count but not query it") {
		t.Errorf("a viewer's query over /mcp: %+v, %v", res, err)
	}

	req, _ := http.NewRequest(http.MethodPost, s.base+"/arrow", strings.NewReader(`{"input": {"metrics": ["order_count"], "dimensions": ["orders.channel"]}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.apache.arrow.stream" {
		t.Errorf("POST /arrow: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}

	required := startServe(t, "--demo-scale", "0.01", "--auth", "required")
	required.waitUp(t)
	req, _ = http.NewRequest(http.MethodPost, required.base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/mcp without a token, outside demo mode: %s, want 401", resp.Status)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
