package authz

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFileStoreConformance(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		runStoreConformance(t, func(t *testing.T) (Store, func(*testing.T) Store) {
			path := filepath.Join(t.TempDir(), "policy.csv")
			again := func(t *testing.T) Store { return openTestFileStore(t, path) }
			return again(t), again
		})
	})
	t.Run("Memory", func(t *testing.T) {
		runStoreConformance(t, func(t *testing.T) (Store, func(*testing.T) Store) {
			s, err := OpenFileStore("")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, nil
		})
	})
}

func openTestFileStore(t *testing.T, path string) *FileStore {
	t.Helper()
	s, err := OpenFileStore(path, WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func parseRuleLine(t *testing.T, line string) Rule {
	t.Helper()
	st, err := ParsePolicyFile("line", []byte(line))
	if err != nil || len(st.Rules) != 1 {
		t.Fatalf("parse %q: %v", line, err)
	}
	r := st.Rules[0]
	r.Line = 0
	return r
}

// A policy file as a person writes it: comments, blank lines, a rule over two lines, CRLF line
// breaks and no break after the last line.
const handWrittenPolicy = "# Access policy of acme.\r\n" +
	"# Reviewed by security, 2026-03.\r\n" +
	"\r\n" +
	"p, analyst, acme, metric:*, query, allow\r\n" +
	"p,east_sales,acme,tag:finance,*,deny,10   \r\n" +
	"\r\n" +
	"# Sales in the east see their own region only.\r\n" +
	"row_filter, east_sales, acme, orders, \"region = 'east'\r\n  AND channel <> 'store'\"\r\n" +
	"g, alice, analyst, acme\r\n" +
	"api_key, acme, kexport, nightly export, analyst, " + "0000000000000000000000000000000000000000000000000000000000000000" + ", 2026-03-01T00:00:00Z, root@acme, \r\n" +
	"# end"

func TestFileStoreKeepsEveryOtherLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.csv")
	writeFile(t, path, handWrittenPolicy)
	s := openTestFileStore(t, path)
	want := handWrittenPolicy

	// A new rule is appended, its line ended as the file's lines are.
	added := Rule{Kind: Mask, Subject: "support", Tenant: "acme", Object: "customers.email", Value: "hash"}
	mustApply(t, s, ruleChange(AddRule, added, "root@acme"))
	want += "\r\nmask, support, acme, customers.email, hash\r\n"
	if got := readFile(t, path); got != want {
		t.Fatalf("after adding:\n%q\nwant:\n%q", got, want)
	}

	// A removed rule is exactly its line, however it is spelt.
	mustApply(t, s, ruleChange(RemoveRule, parseRuleLine(t, "p, east_sales, acme, tag:finance, *, deny, 10"), "root@acme"))
	want = strings.Replace(want, "p,east_sales,acme,tag:finance,*,deny,10   \r\n", "", 1)
	if got := readFile(t, path); got != want {
		t.Fatalf("after removing:\n%q\nwant:\n%q", got, want)
	}

	// A rule over two lines goes with both.
	st := mustLoad(t, s)
	i := slices.IndexFunc(st.Rules, func(r Rule) bool { return r.Kind == RowFilter })
	mustApply(t, s, ruleChange(RemoveRule, st.Rules[i], "root@acme"))
	want = strings.Replace(want, "row_filter, east_sales, acme, orders, \"region = 'east'\r\n  AND channel <> 'store'\"\r\n", "", 1)
	if got := readFile(t, path); got != want {
		t.Fatalf("after removing a rule over two lines:\n%q\nwant:\n%q", got, want)
	}

	// A revoked key's line is rewritten in place.
	at := time.Date(2026, 4, 2, 3, 4, 5, 0, time.UTC)
	mustApply(t, s, Change{Op: RevokeAPIKey, Key: APIKey{Tenant: "acme", ID: "kexport", RevokedAt: at}, Audit: AuditRecord{Actor: "root@acme"}})
	want = strings.Replace(want, "root@acme, \r\n", "root@acme, 2026-04-02T03:04:05Z\r\n", 1)
	if got := readFile(t, path); got != want {
		t.Fatalf("after revoking:\n%q\nwant:\n%q", got, want)
	}

	// The last line, without a line break, is removed with nothing else.
	mustApply(t, s, ruleChange(RemoveRule, added, "root@acme"))
	want = strings.TrimSuffix(want, "mask, support, acme, customers.email, hash\r\n")
	if got := readFile(t, path); got != want {
		t.Fatalf("after removing the last rule:\n%q\nwant:\n%q", got, want)
	}
}

func TestFileStoreBrokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.csv")
	broken := "# comment\np, analyst, acme, metric:*, query, allow\nq, what, is, this\n\ng, alice, acme\n"
	writeFile(t, path, broken)
	_, err := OpenFileStore(path)
	var perr *PolicyFileError
	if !errors.As(err, &perr) {
		t.Fatalf("opening a broken file: %v, want a *PolicyFileError", err)
	}
	if lines := []int{perr.Problems[0].Line, perr.Problems[1].Line}; len(perr.Problems) != 2 || lines[0] != 3 || lines[1] != 5 {
		t.Errorf("problems %+v, want lines 3 and 5", perr.Problems)
	}
	if !strings.Contains(err.Error(), path+":3: ") {
		t.Errorf("the message does not point at the line: %v", err)
	}
	if got := readFile(t, path); got != broken {
		t.Errorf("opening a broken file changed it")
	}
	if _, err := os.Stat(path + ".audit.jsonl"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a broken file wrote an audit log")
	}

	// A file broken by hand after the store opened it is read and written no more.
	writeFile(t, path, "p, analyst, acme, metric:*, query, allow\n")
	s := openTestFileStore(t, path)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[2], "root@acme"))
	writeFile(t, path, broken)
	if _, err := s.Load(t.Context()); !errors.As(err, &perr) {
		t.Errorf("load of a file broken since: %v, want a *PolicyFileError", err)
	}
	if _, err := s.Apply(t.Context(), ruleChange(AddRule, conformanceRules[4], "root@acme")); !errors.As(err, &perr) {
		t.Errorf("apply to a file broken since: %v, want a *PolicyFileError", err)
	}
	if got := readFile(t, path); got != broken {
		t.Errorf("apply changed a broken file:\n%s", got)
	}
	if recs := allAudit(t, s, "acme", 100); len(recs) != 1 {
		t.Errorf("apply to a broken file was audited: %+v", recs)
	}
	// Fixed, it works again.
	writeFile(t, path, "p, analyst, acme, metric:*, query, allow\n")
	mustApply(t, s, ruleChange(AddRule, conformanceRules[4], "root@acme"))
}

func TestOpenFileStoreCreatesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.csv")
	s := openTestFileStore(t, path)
	if got := readFile(t, path); got != "" {
		t.Errorf("new file holds %q", got)
	}
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	if got, want := readFile(t, path), "p, analyst, acme, metric:gmv_*, query, allow\n"; got != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
	if _, err := OpenFileStore(filepath.Join(t.TempDir(), "no", "such", "dir.csv")); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("open in a missing directory: %v, want ErrStoreUnavailable", err)
	}
}

func TestFileStoreKeepsALinkALink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "policy.csv"), filepath.Join(dir, "current.csv")
	writeFile(t, target, "# policy\n")
	if err := os.Symlink("policy.csv", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	s := openTestFileStore(t, link)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file")
	}
	if got := readFile(t, target); got != "# policy\np, analyst, acme, metric:gmv_*, query, allow\n" {
		t.Errorf("the linked file holds %q", got)
	}
}

func TestNewMemoryStore(t *testing.T) {
	initial, err := ParsePolicyFile("demo", []byte(handWrittenPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s := NewMemoryStore(initial)
	defer s.Close()
	st := mustLoad(t, s)
	if !slices.Equal(st.Rules, initial.Rules) || !sameKeys(st.Keys, initial.Keys) {
		t.Errorf("memory store holds %+v, want %+v", st, initial)
	}
	st.Rules[0].Subject = "changed"
	st.Keys[0].Roles[0] = "changed"
	if st := mustLoad(t, s); st.Rules[0].Subject != "analyst" || st.Keys[0].Roles[0] != "analyst" {
		t.Errorf("changing a loaded state changed the store")
	}
	if _, err := s.Apply(t.Context(), ruleChange(AddRule, initial.Rules[0], "root@acme")); !errors.Is(err, ErrRuleExists) {
		t.Errorf("adding an initial rule: %v, want ErrRuleExists", err)
	}
}

// crashState makes the files of a store as a crash in the middle of its second change leaves
// them: the audit record written, the policy file not yet replaced. It returns the policy file's
// path and content before and after that change.
func crashState(t *testing.T) (path, before, after string) {
	path = filepath.Join(t.TempDir(), "policy.csv")
	s := openTestFileStore(t, path)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	before = readFile(t, path)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[1], "root@acme"))
	after = readFile(t, path)
	s.Close()
	if err := os.Rename(path, path+".koujing-tmp"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, before)
	return path, before, after
}

func TestFileStoreFinishesACrashedChange(t *testing.T) {
	path, _, after := crashState(t)
	s := openTestFileStore(t, path)
	if got := readFile(t, path); got != after {
		t.Errorf("after reopening, the policy file holds\n%s\nwant the change finished:\n%s", got, after)
	}
	if _, err := os.Stat(path + ".koujing-tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file is still there")
	}
	if recs := allAudit(t, s, "acme", 100); len(recs) != 2 {
		t.Errorf("audit: %+v, want both changes", recs)
	}
}

func TestFileStoreVoidsALostChange(t *testing.T) {
	path, before, _ := crashState(t)
	os.Remove(path + ".koujing-tmp") // as a power failure before the directory was synced may
	s := openTestFileStore(t, path)
	if got := readFile(t, path); got != before {
		t.Errorf("after reopening, the policy file holds\n%s\nwant\n%s", got, before)
	}
	recs := allAudit(t, s, "acme", 100)
	if len(recs) != 1 || recs[0].Seq != 1 {
		t.Errorf("audit: %+v, want the first change only", recs)
	}
	if log := readFile(t, path+".audit.jsonl"); !strings.Contains(log, `"voids":2`) {
		t.Errorf("the audit log does not mark change 2 not applied:\n%s", log)
	}
	// The lost change can be made again, and numbering goes on after the compensating record.
	rec := mustApply(t, s, ruleChange(AddRule, conformanceRules[1], "root@acme"))
	if rec.Seq != 4 {
		t.Errorf("the next change has seq %d, want 4", rec.Seq)
	}
	// A store opened later does not void anything again.
	s.Close()
	s = openTestFileStore(t, path)
	if recs := allAudit(t, s, "acme", 100); len(recs) != 2 {
		t.Errorf("audit after reopening: %+v", recs)
	}
}

func TestFileStoreCutsATornAuditRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.csv")
	s := openTestFileStore(t, path)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	s.Close()
	// A crash while appending the second record, after writing the new policy file.
	f, err := os.OpenFile(path+".audit.jsonl", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":2,"at":"2026-01-01T00:00:00Z","tenant":"ac`)
	f.Close()
	writeFile(t, path+".koujing-tmp", "p, analyst, acme, metric:gmv_*, query, allow\ng, alice, analyst, acme\n")

	s = openTestFileStore(t, path)
	if _, err := os.Stat(path + ".koujing-tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file of a change without a record is still there")
	}
	if st := mustLoad(t, s); len(st.Rules) != 1 {
		t.Errorf("rules: %v", st.Rules)
	}
	rec := mustApply(t, s, ruleChange(AddRule, conformanceRules[2], "root@acme"))
	if rec.Seq != 2 {
		t.Errorf("seq %d, want 2", rec.Seq)
	}
	s.Close()
	s = openTestFileStore(t, path)
	if recs := allAudit(t, s, "acme", 100); len(recs) != 2 || recs[1].Detail != "g, alice, analyst, acme" {
		t.Errorf("audit: %+v", recs)
	}
}

func TestFileStoreWatchSeesEditsByHand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.csv")
	s := openTestFileStore(t, path)
	fired := make(chan struct{}, 10)
	if err := s.Watch(t.Context(), func() { fired <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("g, bob, analyst, acme\n")
	f.Close()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not report an edit by hand")
	}
	if st := mustLoad(t, s); len(st.Rules) != 1 || st.Rules[0].Subject != "bob" {
		t.Errorf("rules: %v", st.Rules)
	}
	// After Close, Watch stops and the store refuses calls.
	s.Close()
	if _, err := s.Load(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("load after close: %v", err)
	}
}

// The crash test runs this test binary as a child process that changes a policy file in a loop,
// kills it with SIGKILL at random moments, and checks after each kill that the policy file and
// the audit log agree.

const crashChildEnv = "KOUJING_AUTHZ_CRASH_CHILD"

var crashTenants = []string{"acme", "globex"}

const crashInitialPolicy = "# The crash test's policy.\n\np, analyst, acme, metric:*, query, allow\n# globex\ng, bob, analyst, globex\n"

func TestFileStoreSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "policy.csv")
	writeFile(t, path, crashInitialPolicy)
	const kills = 30
	start := time.Now()
	var pending, changes int
	for i := range kills {
		killChildren(t, path, 1, time.Duration(rand.IntN(40))*time.Millisecond)
		if _, err := os.Stat(path + ".koujing-tmp"); err == nil {
			pending++
		}
		changes = checkAgreement(t, path)
		if t.Failed() {
			t.Fatalf("after kill %d", i+1)
		}
	}
	t.Logf("%d kills in %v, %d of them in the middle of a change; %d changes audited", kills, time.Since(start).Round(time.Millisecond), pending, changes)
}

// Two processes changing one file at once are serialised by the lock file.
func TestFileStoreTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.csv")
	writeFile(t, path, crashInitialPolicy)
	for range 3 {
		killChildren(t, path, 2, 300*time.Millisecond)
		checkAgreement(t, path)
	}
}

// killChildren starts n children changing the policy file at path, lets them run for d once
// they are ready, and kills them.
func killChildren(t *testing.T, path string, n int, d time.Duration) {
	t.Helper()
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreSurvivesSIGKILL$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %q, %v", line, err)
		}
		cmds = append(cmds, cmd)
	}
	time.Sleep(d)
	for _, cmd := range cmds {
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !status.Signaled() {
			t.Fatalf("child ended before it was killed: %v", err)
		}
	}
}

// crashChild changes the policy file at path at random until it is killed.
func crashChild(path string) {
	fileStoreStepHook = func(string) { time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond) }
	s, err := OpenFileStore(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	ctx := context.Background()
	pid := os.Getpid()
	for i := 0; ; i++ {
		tenant := crashTenants[rand.IntN(len(crashTenants))]
		c := Change{Audit: AuditRecord{Actor: fmt.Sprintf("child%d@%s", pid, tenant)}}
		st, err := s.Load(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		switch rand.IntN(5) {
		case 0, 1:
			c.Op = AddRule
			c.Rule = Rule{Kind: Grant, Subject: fmt.Sprintf("u%d", rand.IntN(50)), Tenant: tenant, Object: fmt.Sprintf("metric:m%d", rand.IntN(5)), Action: "query", Effect: Allow, Priority: DefaultPriority}
		case 2:
			if len(st.Rules) == 0 {
				continue
			}
			c.Op, c.Rule = RemoveRule, st.Rules[rand.IntN(len(st.Rules))]
			c.Audit.Actor = "child@" + c.Rule.Tenant
		case 3:
			c.Op, c.Key = CreateAPIKey, testKey(tenant, fmt.Sprintf("k%d_%d", pid, i), "analyst")
		case 4:
			if len(st.Keys) == 0 {
				continue
			}
			k := st.Keys[rand.IntN(len(st.Keys))]
			c.Op, c.Key = RevokeAPIKey, APIKey{Tenant: k.Tenant, ID: k.ID}
			c.Audit.Actor = "child@" + k.Tenant
		}
		_, err = s.Apply(ctx, c)
		if err != nil && !errors.Is(err, ErrRuleExists) && !errors.Is(err, ErrRuleNotFound) && !errors.Is(err, ErrKeyNotFound) {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
	}
}

// checkAgreement opens the store at path, as a restart after the crash would, and checks that
// replaying the audit log's changes on the initial policy gives the policy file's rules and keys,
// and that the file's comments are still there. It returns how many changes the log holds.
func checkAgreement(t *testing.T, path string) int {
	t.Helper()
	s := openTestFileStore(t, path)
	defer s.Close()
	st := mustLoad(t, s)
	replay, err := ParsePolicyFile("initial", []byte(crashInitialPolicy))
	if err != nil {
		t.Fatal(err)
	}
	var recs []AuditRecord
	for _, tenant := range crashTenants {
		recs = append(recs, allAudit(t, s, tenant, 1000)...)
	}
	slices.SortFunc(recs, func(a, b AuditRecord) int { return int(a.Seq - b.Seq) })
	revoked := map[string]bool{}
	for _, rec := range recs {
		c := Change{Op: rec.Op}
		switch rec.Op {
		case AddRule, RemoveRule:
			c.Rule = parseRuleLine(t, rec.Detail)
			if err := applyToState(replay, &c); err != nil {
				t.Errorf("the audit log's change %d does not apply: %v", rec.Seq, err)
			}
		case CreateAPIKey:
			id, _, _ := strings.Cut(rec.Detail, " ")
			replay.Keys = append(replay.Keys, APIKey{ID: id})
		case RevokeAPIKey:
			id, _, _ := strings.Cut(rec.Detail, " ")
			revoked[id] = true
		}
	}
	if got, want := ruleLines(st), ruleLines(replay); !slices.Equal(got, want) {
		t.Errorf("the policy file's rules:\n%s\nthe audit log's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var gotKeys, wantKeys []string
	for _, k := range st.Keys {
		gotKeys = append(gotKeys, fmt.Sprint(k.ID, k.Revoked()))
	}
	for _, k := range replay.Keys {
		wantKeys = append(wantKeys, fmt.Sprint(k.ID, revoked[k.ID]))
	}
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("the policy file's keys %v, the audit log's %v", gotKeys, wantKeys)
	}
	if data := readFile(t, path); !strings.HasPrefix(data, "# The crash test's policy.\n\n") || !strings.Contains(data, "\n# globex\n") {
		t.Errorf("the comments are gone:\n%s", data)
	}
	return len(recs)
}

func ruleLines(st *State) []string {
	var lines []string
	for _, r := range st.Rules {
		lines = append(lines, r.String())
	}
	return lines
}
