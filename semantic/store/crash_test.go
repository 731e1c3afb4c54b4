package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/pgtest"
)

// The crash tests run this test binary as child processes that publish change requests in a
// loop, as package semantic does, kill them with SIGKILL at random moments, and check after each
// kill that every publish the store holds happened whole and none in part.

// crashChildEnv selects child mode and the store: "sqlite:PATH" or "postgres:SCHEMA".
const crashChildEnv = "KOUJING_SEMANTIC_STORE_CRASH_CHILD"

// crashNames are the metrics the children publish, few so that publishes supersede each other.
var crashNames = []string{"gmv", "aov", "orders", "profit", "refunds"}

func TestSQLiteSurvivesSIGKILL(t *testing.T) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		crashChild(spec)
		return
	}
	path := filepath.Join(t.TempDir(), "koujing.db")
	openTestSQLite(t, path).Close() // migrated before the first child
	runCrashTest(t, "TestSQLiteSurvivesSIGKILL", "sqlite:"+path, func(t *testing.T) Store { return openTestSQLite(t, path) })
}

func TestPostgresSurvivesSIGKILL(t *testing.T) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		crashChild(spec)
		return
	}
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	openTestPostgres(t, pool, schema).Close()
	runCrashTest(t, "TestPostgresSurvivesSIGKILL", "postgres:"+schema, func(t *testing.T) Store { return openTestPostgres(t, pool, schema) })
}

// runCrashTest kills children publishing to the store spec names 20 times, one child at a time,
// then lets two publish together, watched, and kills both, checking the store after each kill.
func runCrashTest(t *testing.T, test, spec string, open func(*testing.T) Store) {
	const kills = 20
	start := time.Now()
	inside := 0
	for i := range kills {
		midPublish := killChildren(t, test, spec, 1, time.Duration(rand.IntN(80))*time.Millisecond)
		inside += midPublish
		s := open(t)
		checkPublishes(t, s)
		s.Close()
		if t.Failed() {
			t.Fatalf("after kill %d", i+1)
		}
	}
	// Two children publish at once, while this process watches the store: their publishes
	// reach its Watch.
	s := open(t)
	before, _ := checkPublishes(t, s)
	var fired atomic.Int32
	if err := s.Watch(t.Context(), func() { fired.Add(1) }); err != nil {
		t.Fatal(err)
	}
	killChildren(t, test, spec, 2, 1200*time.Millisecond)
	published, left := checkPublishes(t, s)
	if published > before && fired.Load() == 0 {
		t.Errorf("Watch did not report the children's %d publishes", published-before)
	}
	t.Logf("%d kills of one child and one of two at once in %v, %d of them in the middle of a publish; the store holds %d publishes and %d requests left open",
		kills, time.Since(start).Round(time.Millisecond), inside, published, left)
}

// killChildren starts n children publishing to the store spec names, lets them run for d once
// they are ready, and kills them. It returns how many were in the middle of a publish.
func killChildren(t *testing.T, test, spec string, n int, d time.Duration) (midPublish int) {
	t.Helper()
	type child struct {
		cmd  *exec.Cmd
		last chan string
	}
	var children []child
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+spec)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %q, %v", lines.Text(), lines.Err())
		}
		// The child's last line says whether it was killed between starting a publish and
		// finishing it.
		last := make(chan string, 1)
		go func() {
			line := ""
			for lines.Scan() {
				line = lines.Text()
			}
			last <- line
		}()
		children = append(children, child{cmd, last})
	}
	time.Sleep(d)
	for _, c := range children {
		c.cmd.Process.Signal(syscall.SIGKILL)
		if strings.HasPrefix(<-c.last, "publish ") {
			midPublish++
		}
		err := c.cmd.Wait()
		if status, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !status.Signaled() {
			t.Fatalf("child ended before it was killed: %v", err)
		}
	}
	return midPublish
}

// crashChild publishes change requests to the store spec names until it is killed, each publish
// one Update as package semantic makes it: the request's new versions inserted, the versions
// they replace superseded and the new ones published, the request marked published and an
// event appended. Statements pause at random inside the transaction, so kills land there.
func crashChild(spec string) {
	txStepHook = func() { time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond) }
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	var s Store
	var err error
	kind, where, _ := strings.Cut(spec, ":")
	switch kind {
	case "sqlite":
		s, err = OpenSQLite(ctx, where)
	case "postgres":
		var pool *pgxpool.Pool
		if pool, err = pgxpool.New(ctx, pgtest.URL()); err == nil {
			s, err = OpenPostgres(ctx, pool, PostgresOptions{Schema: where})
		}
	}
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")
	pid := os.Getpid()
	for {
		// A pause between publishes, as people and servers make: without it, a second child
		// polling for the file's lock (SQLite's busy handler sleeps up to 100ms between tries)
		// could wait for a gap longer than its busy timeout.
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		var items []Item
		for _, i := range rand.Perm(len(crashNames))[:1+rand.IntN(3)] {
			items = append(items, Item{Kind: KindMetric, Name: crashNames[i], Action: Update})
		}
		var cr ChangeRequest
		err := s.Update(ctx, func(tx Tx) error {
			var err error
			cr, err = tx.InsertChangeRequest(ChangeRequest{Title: "crash test", Author: fmt.Sprintf("child%d@acme", pid),
				Tenant: "acme", Status: CROpen, Items: items, Domains: []string{"sales"}, ApprovalsRequired: 1})
			return err
		})
		if err != nil && !errors.Is(err, ErrConflict) {
			fail(err)
		} else if err != nil {
			continue
		}
		fmt.Println("publish", cr.ID)
		err = s.Update(ctx, func(tx Tx) error { return crashPublish(tx, cr.ID) })
		if err != nil && !errors.Is(err, ErrConflict) {
			fail(err)
		}
		fmt.Println("published", cr.ID)
	}
}

// crashPublish publishes the request with that ID.
func crashPublish(tx Tx, id int64) error {
	cr, err := tx.ChangeRequest(id)
	if err != nil {
		return err
	}
	now := time.Now()
	var fresh []Version
	for i, it := range cr.Items {
		v, err := tx.InsertVersion(Version{Kind: it.Kind, Name: it.Name, Status: InReview, Definition: fmt.Sprintf("name: %s\n", it.Name),
			Hash: "h", Author: cr.Author, ChangeRequest: cr.ID})
		if err != nil {
			return err
		}
		cr.Items[i].Version = v.Number
		fresh = append(fresh, v)
	}
	var ids []string
	for _, v := range fresh {
		old, err := tx.Versions(VersionQuery{Kind: v.Kind, Name: v.Name, Statuses: []Status{Published, Deprecated}})
		if err != nil {
			return err
		}
		for _, o := range old {
			if err := tx.SetVersionStatus(o.ID, Superseded, o.PublishedAt, nil, nil); err != nil {
				return err
			}
		}
		if err := tx.SetVersionStatus(v.ID, Published, now, nil, nil); err != nil {
			return err
		}
		ids = append(ids, fmt.Sprint(v.ID))
	}
	cr.Status = CRPublished
	if _, err := tx.UpdateChangeRequest(cr); err != nil {
		return err
	}
	_, err = tx.AppendEvent(Event{Tenant: cr.Tenant, Actor: cr.Author, Type: "change_request.published",
		Object: fmt.Sprint("change_request:", cr.ID), Detail: `{"versions":[` + strings.Join(ids, ",") + `]}`})
	return err
}

// checkPublishes checks that the store holds whole publishes only: at most one serving version
// of a name (and exactly one of a name that has versions, since the children only publish);
// version numbers of a name 1, 2, 3 … without repeats; a published request has a version of each
// of its items, each published or superseded, and one event; a request that is not published
// has no versions and no event. It returns how many requests are published and how many open.
func checkPublishes(t *testing.T, s Store) (published, open int) {
	t.Helper()
	vs := versionsOf(t, s, VersionQuery{})
	byRequest := map[int64][]Version{}
	serving := map[string]int{}
	numbers := map[string]int{}
	for _, v := range vs {
		key := string(v.Kind) + " " + v.Name
		if numbers[key]++; v.Number != numbers[key] {
			t.Errorf("%s has version %d where %d belongs", key, v.Number, numbers[key])
		}
		if v.Status == Published || v.Status == Deprecated {
			serving[key]++
		}
		byRequest[v.ChangeRequest] = append(byRequest[v.ChangeRequest], v)
	}
	for key := range numbers {
		if serving[key] != 1 {
			t.Errorf("%s has %d serving versions, want 1", key, serving[key])
		}
	}
	events := map[string]int{}
	for _, e := range allEvents(t, s, EventQuery{Tenant: "acme"}, 1000) {
		events[e.Object]++
	}
	var before int64
	for {
		crs, err := s.ChangeRequests(t.Context(), CRQuery{BeforeID: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(crs) == 0 {
			break
		}
		for _, cr := range crs {
			before = cr.ID
			mine, n := byRequest[cr.ID], events[fmt.Sprint("change_request:", cr.ID)]
			delete(byRequest, cr.ID)
			if cr.Status != CRPublished {
				open++
				if len(mine) != 0 || n != 0 || cr.Revision != 1 {
					t.Errorf("request %d, %s at revision %d, has %d versions and %d events", cr.ID, cr.Status, cr.Revision, len(mine), n)
				}
				continue
			}
			published++
			if len(mine) != len(cr.Items) || n != 1 || cr.Revision != 2 {
				t.Errorf("published request %d at revision %d has %d items, %d versions and %d events", cr.ID, cr.Revision, len(cr.Items), len(mine), n)
				continue
			}
			byName := map[string]Version{}
			for _, v := range mine {
				byName[v.Name] = v
			}
			for _, it := range cr.Items {
				if v, ok := byName[it.Name]; !ok || v.Number != it.Version || (v.Status != Published && v.Status != Superseded) {
					t.Errorf("published request %d: item %+v, version %s@%d %s", cr.ID, it, v.Name, v.Number, v.Status)
				}
			}
		}
	}
	for id, vs := range byRequest {
		t.Errorf("%d versions of no request (%d)", len(vs), id)
	}
	return published, open
}
