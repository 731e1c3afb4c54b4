package main

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestLayout checks that dependencies point one way, as DESIGN.md lays them out: the engine
// imports nothing of ours but itself, authz nothing of ours at all, the semantic layer only the
// engine and authz (and no HTTP), the webhook dispatcher only the metadata store, and no package
// but the command imports a surface or the command.
func TestLayout(t *testing.T) {
	const module = "github.com/koujing/koujing/"
	rules := []struct {
		pkg   string   // a package path prefix, after the module
		may   []string // the prefixes of our packages it may import
		never []string // third-party prefixes it must not import
	}{
		{"engine", []string{"engine"}, []string{"github.com/99designs/gqlgen", "github.com/vektah/gqlparser", "github.com/casbin"}},
		{"authz", nil, []string{"github.com/99designs/gqlgen", "github.com/apache/arrow-go"}},
		// semantic does no network I/O of its own: its webhook calls wait in the store's outbox
		// for package webhook.
		{"semantic", []string{"semantic", "engine", "authz"}, []string{"github.com/99designs/gqlgen", "github.com/vektah/gqlparser", "net/http"}},
		{"resolvers", []string{"resolvers", "graph", "semantic", "engine", "authz"}, nil},
		{"graph", []string{"graph", "resolvers/gqltype", "semantic", "engine", "authz"}, nil},
		{"mcp", []string{"mcp", "semantic", "engine", "authz"}, nil},
		{"webhook", []string{"webhook", "semantic/store"}, []string{"github.com/99designs/gqlgen", "github.com/apache/arrow-go"}},
	}
	cmd := exec.Command("go", "list", "-json", module+"...")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("go list: %v\n%s", err, exit.Stderr)
	} else if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, r := range rules {
			if rel != r.pkg && !strings.HasPrefix(rel, r.pkg+"/") {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				if ours, ok := strings.CutPrefix(imp, module); ok {
					allowed := false
					for _, m := range r.may {
						allowed = allowed || ours == m || strings.HasPrefix(ours, m+"/")
					}
					if !allowed {
						t.Errorf("%s imports %s; %s may import only %v of ours", rel, ours, r.pkg, r.may)
					}
					continue
				}
				for _, n := range r.never {
					if strings.HasPrefix(imp, n) {
						t.Errorf("%s imports %s, which %s must not", rel, imp, r.pkg)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d packages were checked; go list found fewer than the layout has", checked)
	}
}
