package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeDBTManifest serves the demo with --dbt-manifest: gmv_paid's lineage picture goes on
// upstream of the orders table into the dbt model that builds it, owner and all. A manifest that
// is not one refuses to start, saying which file and what is wrong.
func TestServeDBTManifest(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(manifest, []byte(`{
  "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "shop"},
  "nodes": {"model.shop.orders": {"resource_type": "model", "name": "orders", "schema": "public", "alias": "orders",
    "config": {"materialized": "table", "meta": {"owner": "data-eng"}}}}
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--demo-scale", "0.01", "--dbt-manifest", manifest)
	s.waitUp(t)
	res, err := http.Get(s.base + "/lineage/gmv_paid.dot?direction=upstream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	dot, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(dot), `"dbt_node model.shop.orders"`) || !strings.Contains(string(dot), "owner: data-eng") {
		t.Errorf("%d:\n%s", res.StatusCode, dot)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"nodes": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, _, errOut := koujing(t, ctx, "serve", "--addr", "127.0.0.1:0", "--sql-addr", "off", "--demo-scale", "0.01", "--dbt-manifest", bad)
	if code != 2 || !strings.Contains(errOut, "--dbt-manifest: "+bad+": not a dbt manifest") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
}
