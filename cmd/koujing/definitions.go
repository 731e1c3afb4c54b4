package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/koujing/koujing/semantic"
)

// The variables propose and export read when their flags are absent.
const (
	serverEnv = "KOUJING_SERVER"
	tokenEnv  = "KOUJING_TOKEN"
)

// clientFlags say which server a command asks, and as whom.
type clientFlags struct {
	server string
	token  string
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.server, "server", "", "the Koujing server, such as http://127.0.0.1:8080 (default $"+serverEnv+", else that)")
	fs.StringVar(&f.token, "token", "", "a JWT or API key to ask as (default $"+tokenEnv+"; none runs as the demo user of a server in demo mode)")
}

func (f *clientFlags) check() error {
	if f.server == "" {
		f.server = os.Getenv(serverEnv)
	}
	if f.server == "" {
		f.server = "http://127.0.0.1:8080"
	}
	if f.token == "" {
		f.token = os.Getenv(tokenEnv)
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--server %q is not an http(s) URL, such as http://127.0.0.1:8080", f.server)
	}
	f.server = strings.TrimRight(f.server, "/")
	return nil
}

// graphQLError is an error a server answered with.
type graphQLError struct {
	Message    string
	Extensions struct{ Code string }
}

// graphQLErrors are the errors of one answer; they print as the server's messages.
type graphQLErrors []graphQLError

func (es graphQLErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Message
		if e.Extensions.Code != "" {
			msgs[i] += " (" + e.Extensions.Code + ")"
		}
	}
	return strings.Join(msgs, "; ")
}

func (es graphQLErrors) has(code, words string) bool {
	for _, e := range es {
		if e.Extensions.Code == code && strings.Contains(e.Message, words) {
			return true
		}
	}
	return false
}

// ask sends a GraphQL operation to the server and decodes its data into into.
func (f *clientFlags) ask(ctx context.Context, query string, vars map[string]any, into any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.server+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the server at %s: %w", f.server, err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors graphQLErrors
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&out); err != nil {
		return fmt.Errorf("the server at %s answered %s, not GraphQL: %w", f.server, resp.Status, err)
	}
	if len(out.Errors) > 0 {
		return out.Errors
	}
	return json.Unmarshal(out.Data, into)
}

// definitionFile is a definitions file as the API takes and gives it.
type definitionFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// readDefinitionFiles reads the YAML files of dir as SplitDefinitions would (hidden files and
// folders left out), checking first that they split into definitions.
func readDefinitionFiles(dir string) ([]definitionFile, error) {
	fsys := os.DirFS(dir)
	if _, err := semantic.SplitDefinitions(fsys); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	names, err := semantic.DefinitionFileNames(fsys)
	if err != nil {
		return nil, err
	}
	var files []definitionFile
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		files = append(files, definitionFile{Path: name, Content: string(data)})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no .yaml or .yml files", dir)
	}
	return files, nil
}

// runPropose proposes the definitions of a directory to a server: one change request with every
// definition that differs from the published one.
func runPropose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("propose", "[--server URL] [--token TOKEN] [--title T] [--rationale R] [--draft] DIR", stderr)
	var cf clientFlags
	cf.register(flags)
	title := flags.String("title", "", "what the change request changes, in a line (default: \"Definitions from DIR\")")
	rationale := flags.String("rationale", "", "why")
	draft := flags.Bool("draft", false, "keep the change request a draft, to submit for review later")
	if err := parseInterspersed(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return usageError("give exactly one definitions directory, e.g. koujing propose ./models")
	}
	if err := cf.check(); err != nil {
		return err
	}
	dir := flags.Arg(0)
	files, err := readDefinitionFiles(dir)
	if err != nil {
		return err
	}
	if *title == "" {
		abs, _ := filepath.Abs(dir)
		*title = "Definitions from " + filepath.Base(abs)
	}
	var data struct {
		ProposeDefinitions struct {
			ID, Status, DueAt  string
			Number             int
			Domains, Reviewers []string
			ApprovalsRequired  int
			Items              []struct {
				Kind, Name, Action   string
				Version, BaseVersion int
			}
		}
	}
	err = cf.ask(ctx, `mutation($in: ProposeDefinitionsInput!) { proposeDefinitions(input: $in) {
  id number status dueAt domains reviewers approvalsRequired items { kind name action version baseVersion } } }`,
		map[string]any{"in": map[string]any{"title": *title, "rationale": *rationale, "draft": *draft, "files": files}}, &data)
	var gqlErrs graphQLErrors
	if errors.As(err, &gqlErrs) && gqlErrs.has("INVALID_QUERY", "nothing to propose") {
		fmt.Fprintf(stdout, "Nothing to propose: %s holds the published definitions already.\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	cr := data.ProposeDefinitions
	fmt.Fprintf(stdout, "Change request %d (%s): %s\n", cr.Number, strings.ToLower(cr.Status), *title)
	for _, it := range cr.Items {
		from := ""
		if it.BaseVersion > 0 {
			from = fmt.Sprintf(", from version %d", it.BaseVersion)
		}
		fmt.Fprintf(stdout, "  %-7s %s %s: version %d%s\n", strings.ToLower(it.Action), strings.ToLower(it.Kind), it.Name, it.Version, from)
	}
	if len(cr.Domains) > 0 {
		fmt.Fprintf(stdout, "Reviewed by the owners of %s (%d approval(s) each)", strings.Join(cr.Domains, ", "), cr.ApprovalsRequired)
	} else {
		fmt.Fprintf(stdout, "Reviewed by those with the review action on each definition (%d approval(s))", cr.ApprovalsRequired)
	}
	if len(cr.Reviewers) > 0 {
		fmt.Fprintf(stdout, ", named: %s", strings.Join(cr.Reviewers, ", "))
	}
	fmt.Fprintf(stdout, "; due %s.\n", cr.DueAt)
	fmt.Fprintf(stdout, "ID: %s\n", cr.ID)
	fmt.Fprintf(stdout, "URL: %s/graphql?query=%s\n", cf.server, url.QueryEscape(fmt.Sprintf(
		`{ changeRequest(id: "%s") { number title status revision items { kind name action version } diff { name changes { path old new } } reviews { reviewer decision note } } }`, cr.ID)))
	return nil
}

// runExport writes the published definitions a server serves to a directory, as YAML files.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("export", "[--server URL] [--token TOKEN] DIR", stderr)
	var cf clientFlags
	cf.register(flags)
	if err := parseInterspersed(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return usageError("give exactly one directory to write to, e.g. koujing export ./models")
	}
	if err := cf.check(); err != nil {
		return err
	}
	dir := flags.Arg(0)
	var data struct{ Definitions []definitionFile }
	if err := cf.ask(ctx, `{ definitions { path content } }`, nil, &data); err != nil {
		return err
	}
	written := map[string]bool{}
	for _, f := range data.Definitions {
		p := filepath.FromSlash(path.Clean(f.Path))
		if !filepath.IsLocal(p) {
			return fmt.Errorf("the server sent a file outside the directory: %q", f.Path)
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(f.Content), 0o644); err != nil {
			return err
		}
		written[filepath.ToSlash(p)] = true
	}
	fmt.Fprintf(stdout, "Wrote %d definitions to %s.\n", len(data.Definitions), dir)
	// Files the export did not write would be proposed again, or clash with what it wrote.
	var stale []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		ext := strings.ToLower(filepath.Ext(p))
		if (ext == ".yaml" || ext == ".yml") && !written[filepath.ToSlash(rel)] {
			stale = append(stale, rel)
		}
		return nil
	})
	if len(stale) > 0 {
		sort.Strings(stale)
		fmt.Fprintf(stderr, "%s also holds definitions files that are not published (or that you may not read): %s; remove them if they should go.\n",
			dir, strings.Join(stale, ", "))
	}
	return nil
}

// parseInterspersed parses flags given before or after the one argument, as in
// `koujing propose ./models --server URL`.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}
