package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/resolvers/gqltype"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// The GraphQL type names of the governance objects' global IDs.
const (
	metricVersionType = "MetricVersion"
	changeRequestType = "ChangeRequest"
	reviewType        = "Review"
	commentType       = "Comment"
	auditEventType    = "AuditEvent"
	feedbackType      = "Feedback"
)

// errNotGoverned is the answer of the governance fields on a server whose definitions are files.
var errNotGoverned = &semantic.QueryError{Class: semantic.ErrInvalidQuery,
	Msg: "this server reads its definitions from files and keeps no versions, change requests or audit log; start it with a metadata store (koujing serve --store)"}

// governanceOf returns the service's governance, or errNotGoverned.
func governanceOf(svc *semantic.Service) (*semantic.Governance, error) {
	if g := svc.Governance(); g != nil {
		return g, nil
	}
	return nil, errNotGoverned
}

func isNotFound(err error) bool { return errors.Is(err, semantic.ErrNotFound) }

// rfc3339 formats a time of the store for the API, in UTC.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optionalTime is rfc3339, or null for a time not set.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}

// nonNil returns list, or an empty list for nil, which GraphQL's non-null lists need.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// pointers returns a pointer to each item of list.
func pointers[T any](list []T) []*T {
	out := make([]*T, len(list))
	for i := range list {
		out[i] = &list[i]
	}
	return out
}

// changeRequestID reads a change request's global ID, or its number.
func changeRequestID(id string) (int64, error) {
	key := id
	if typ, k, ok := parseGlobalID(id); ok && typ == changeRequestType {
		key = k
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil || n < 1 {
		return 0, notFoundf("%q is not the ID of a change request; pass its id, or its number", id)
	}
	return n, nil
}

// childID reads the global ID of a review or comment: TYPE:REQUEST/ID.
func childID(typ, id string) (request, child int64, err error) {
	t, key, ok := parseGlobalID(id)
	a, b, cut := strings.Cut(key, "/")
	if ok && t == typ && cut {
		request, err1 := strconv.ParseInt(a, 10, 64)
		child, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil {
			return request, child, nil
		}
	}
	return 0, 0, notFoundf("%q is not the ID of a %s; pass its id as it is", id, strings.ToLower(typ))
}

// numericID reads the global ID of an object keyed by a number: an audit event or feedback.
func numericID(typ, id string) (int64, error) {
	t, key, ok := parseGlobalID(id)
	if ok && t == typ {
		if n, err := strconv.ParseInt(key, 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, notFoundf("%q is not the ID of a %s; pass its id as it is", id, strings.ToLower(typ))
}

func versionID(v *store.Version) string {
	return globalID(metricVersionType, fmt.Sprintf("%s:%s@%d", v.Kind, v.Name, v.Number))
}

// lookupGovernedNode returns the governance object of a global ID's type and key, if the caller
// may see it; ok is false for a type that is not a governance object's.
func lookupGovernedNode(ctx context.Context, svc *semantic.Service, typ, key, id string) (node gqltype.Node, ok bool, err error) {
	switch typ {
	case metricVersionType, changeRequestType, reviewType, commentType, auditEventType, feedbackType, qualityRunType:
	default:
		return nil, false, nil
	}
	gov := svc.Governance()
	if gov == nil {
		return nil, true, nil
	}
	acc := accessFor(ctx)
	switch typ {
	case changeRequestType:
		n, err := changeRequestID(id)
		if err != nil {
			return nil, true, nil
		}
		cr, err := gov.ChangeRequest(ctx, acc, n)
		if err != nil {
			return nil, true, ignoreNotFound(err)
		}
		return &cr, true, nil
	case metricVersionType:
		kind, name, number, ok := splitVersionKey(key)
		if !ok {
			return nil, true, nil
		}
		vs, err := gov.Versions(ctx, acc, kind, name)
		if err != nil {
			return nil, true, err
		}
		if i := slices.IndexFunc(vs, func(v store.Version) bool { return v.Number == number }); i >= 0 {
			return &vs[i], true, nil
		}
		return nil, true, nil
	case reviewType:
		return findChild(id, typ, func(request int64) ([]store.Review, error) { return gov.Reviews(ctx, acc, request) },
			func(r store.Review) int64 { return r.ID })
	case commentType:
		return findChild(id, typ, func(request int64) ([]store.Comment, error) { return gov.Comments(ctx, acc, request) },
			func(c store.Comment) int64 { return c.ID })
	case auditEventType:
		seq, err := numericID(typ, id)
		if err != nil {
			return nil, true, nil
		}
		es, err := gov.Events(ctx, acc, store.EventQuery{AfterSeq: seq - 1, Limit: 1})
		if err != nil || len(es) == 0 || es[0].Seq != seq {
			return nil, true, err
		}
		return &es[0], true, nil
	case qualityRunType:
		n, err := numericID(typ, id)
		if err != nil {
			return nil, true, nil
		}
		run, err := svc.QualityRun(ctx, acc, n)
		if run == nil || err != nil {
			return nil, true, err
		}
		return run, true, nil
	default: // feedbackType
		n, err := numericID(typ, id)
		if err != nil {
			return nil, true, nil
		}
		f, err := feedbackByID(ctx, gov, acc, n)
		if err != nil {
			return nil, true, ignoreNotFound(err)
		}
		return f, true, nil
	}
}

// findChild returns the review or comment of a global ID, TYPE:REQUEST/ID, from the list of its
// request's that read returns; ok is always true, as for lookupGovernedNode.
func findChild[T any](id, typ string, read func(request int64) ([]T, error), idOf func(T) int64) (node gqltype.Node, ok bool, err error) {
	request, child, err := childID(typ, id)
	if err != nil {
		return nil, true, nil
	}
	all, err := read(request)
	if err != nil {
		return nil, true, ignoreNotFound(err)
	}
	if i := slices.IndexFunc(all, func(x T) bool { return idOf(x) == child }); i >= 0 {
		return &all[i], true, nil
	}
	return nil, true, nil
}

func ignoreNotFound(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}

// feedbackByID returns feedback the caller may see.
func feedbackByID(ctx context.Context, gov *semantic.Governance, acc *semantic.Access, id int64) (*store.Feedback, error) {
	fs, err := gov.Feedback(ctx, acc, store.FeedbackQuery{BeforeID: id + 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 || fs[0].ID != id {
		return nil, notFoundf("there is no feedback %d", id)
	}
	return &fs[0], nil
}

// proposedItems turns the API's items into the workflow's.
func proposedItems(in []*model.ChangeItemInput) ([]semantic.ProposedItem, error) {
	out := make([]semantic.ProposedItem, len(in))
	for i, it := range in {
		out[i] = semantic.ProposedItem{Action: it.Action, Kind: it.Kind, Name: it.Name, YAML: deref(it.Yaml)}
		if d := it.Deprecation; d != nil {
			dep := &store.Deprecation{Replacement: deref(d.Replacement), Note: deref(d.Note)}
			if d.Sunset != nil {
				t, err := parseTime(*d.Sunset)
				if err != nil {
					return nil, invalidf("the sunset of %s %s: %v", it.Kind, it.Name, err)
				}
				dep.Sunset = t
			}
			out[i].Deprecation = dep
		}
	}
	return out, nil
}

// parseTime reads an RFC 3339 time or a date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time (2006-01-02T15:04:05Z)", s)
}

func audienceOf(in *model.AudienceInput) *store.Audience {
	if in == nil || len(in.Roles)+len(in.Tenants) == 0 {
		return nil
	}
	return &store.Audience{Roles: in.Roles, Tenants: in.Tenants}
}

// definitionFiles makes the files of a proposal a file system, refusing paths that are not
// plain relative paths of YAML files.
func definitionFiles(in []*model.DefinitionFileInput) (fstest.MapFS, error) {
	files := fstest.MapFS{}
	for _, f := range in {
		p := path.Clean(strings.TrimPrefix(f.Path, "./"))
		ext := strings.ToLower(path.Ext(p))
		switch {
		case p != f.Path && p != strings.TrimPrefix(f.Path, "./"), path.IsAbs(p), p == "..", strings.HasPrefix(p, "../"):
			return nil, invalidf("file %q: give paths relative to the definitions directory, without .. or a leading /", f.Path)
		case ext != ".yaml" && ext != ".yml":
			return nil, invalidf("file %q: definitions files end .yaml or .yml", f.Path)
		case files[p] != nil:
			return nil, invalidf("file %q is given twice", f.Path)
		}
		files[p] = &fstest.MapFile{Data: []byte(f.Content)}
	}
	if len(files) == 0 {
		return nil, invalidf("no files: give the definitions files to propose")
	}
	return files, nil
}

// queryJSON is the query feedback was seen in, as the store keeps it.
func queryJSON(in *model.MetricQueryInput) (json.RawMessage, error) {
	if in == nil {
		return nil, nil
	}
	return json.Marshal(in)
}

// approvalCount counts the distinct reviewers who approved a request's current revision; for a
// published request, the revision they published (publishing made the next one).
func approvalCount(cr *store.ChangeRequest, reviews []store.Review) int {
	revision := cr.Revision
	if cr.Status == store.CRPublished {
		revision--
	}
	who := map[string]bool{}
	for _, r := range reviews {
		if r.Decision == store.Approve && r.Revision == revision {
			who[r.Reviewer] = true
		}
	}
	return len(who)
}

// requestKey is a change request's key in the reviews and comments loaders.
func requestKey(cr *store.ChangeRequest) string { return strconv.FormatInt(cr.ID, 10) }

// changeRequestPage reads a page of the requests q selects that the caller may see and keep
// accepts, newest first: store pages are read until the page is full, since the caller may not
// see every request.
func changeRequestPage(ctx context.Context, gov *semantic.Governance, q store.CRQuery, keep func(store.ChangeRequest) bool, first *int, after *string) (*model.ChangeRequestConnection, error) {
	n, beforeID, err := pageArgs(first, after)
	if err != nil {
		return nil, err
	}
	acc := accessFor(ctx)
	var got []store.ChangeRequest
	q.BeforeID, q.Limit = beforeID, maxPageSize
	for len(got) <= n {
		crs, err := gov.Store().ChangeRequests(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(crs) == 0 {
			break
		}
		// The same query over the same IDs, through the workflow, which leaves out what the
		// caller may not see.
		vq := q
		vq.BeforeID, vq.Limit = crs[0].ID+1, len(crs)
		q.BeforeID = crs[len(crs)-1].ID
		visible, err := gov.ChangeRequests(ctx, acc, vq)
		if err != nil {
			return nil, err
		}
		ids := map[int64]bool{}
		for _, cr := range visible {
			ids[cr.ID] = true
		}
		for _, cr := range crs {
			if ids[cr.ID] && keep(cr) {
				got = append(got, cr)
			}
		}
		if len(crs) < maxPageSize {
			break
		}
	}
	out := &model.ChangeRequestConnection{Edges: []*model.ChangeRequestEdge{}, PageInfo: &model.PageInfo{HasPreviousPage: after != nil}}
	if len(got) > n {
		got, out.PageInfo.HasNextPage = got[:n], true
	}
	for i := range got {
		out.Edges = append(out.Edges, &model.ChangeRequestEdge{Cursor: encodeCursor(strconv.FormatInt(got[i].ID, 10)), Node: &got[i]})
	}
	setPageCursors(out.PageInfo, len(out.Edges), func(i int) *string { return &out.Edges[i].Cursor })
	return out, nil
}

// pageArgs reads first and an after cursor holding a number.
func pageArgs(first *int, after *string) (n int, key int64, err error) {
	n = defaultPageSize
	if first != nil {
		n = *first
	}
	if n < 0 || n > maxPageSize {
		return 0, 0, invalidf("first is %d; ask for 0 to %d items, and fetch the rest page by page with after: pageInfo.endCursor", n, maxPageSize)
	}
	if after != nil {
		k, ok := decodeCursor(*after)
		v, err := strconv.ParseInt(k, 10, 64)
		if !ok || err != nil || v < 0 {
			return 0, 0, invalidf("after %q is not a cursor; pass pageInfo.endCursor or an edge's cursor as it is", *after)
		}
		key = v
	}
	return n, key, nil
}

func setPageCursors(info *model.PageInfo, n int, cursor func(int) *string) {
	if n > 0 {
		info.StartCursor = cursor(0)
		info.EndCursor = cursor(n - 1)
	}
}

// crQuery turns a change request filter into the store's query and a condition the store cannot
// check.
func crQuery(gov *semantic.Governance, f *model.ChangeRequestFilter) (store.CRQuery, func(store.ChangeRequest) bool) {
	q := store.CRQuery{}
	keep := func(store.ChangeRequest) bool { return true }
	if f == nil {
		return q, keep
	}
	q.Statuses = f.Status
	q.Domain, q.Author, q.Reviewer = deref(f.Domain), deref(f.Author), deref(f.Reviewer)
	if f.Metric != nil {
		q.Kind, q.Name = store.KindMetric, *f.Metric
	}
	if f.Overdue != nil {
		want := *f.Overdue
		keep = func(cr store.ChangeRequest) bool { return gov.Overdue(cr) == want }
	}
	return q, keep
}

// definitionsOf returns the published definitions the caller may read, as files.
func definitionsOf(svc *semantic.Service, acc *semantic.Access) ([]*model.DefinitionFile, error) {
	gov, err := governanceOf(svc)
	if err != nil {
		return nil, err
	}
	admin := false
	if a := svc.Authorizer(); a != nil {
		admin = a.CheckAdmin(acc.Principal()) == nil
	}
	var mine []semantic.Definition
	for _, d := range gov.Catalog().Definitions() {
		visible := false
		switch d.Kind {
		case store.KindMetric:
			visible = acc.Metric(d.Name) != nil
		case store.KindModel:
			visible = acc.Model(d.Name) != nil
		case store.KindDomain:
			visible = acc.Domain(d.Name) != nil
		case store.KindConnection:
			visible = admin || acc.Unrestricted()
		}
		if visible {
			mine = append(mine, d)
		}
	}
	files := semantic.DefinitionFiles(mine)
	out := []*model.DefinitionFile{}
	for _, d := range mine {
		p := kindFolder(d.Kind) + "/" + d.Name + ".yaml"
		f, ok := files.(fstest.MapFS)[p]
		if !ok {
			return nil, fmt.Errorf("the definition files have no %s", p)
		}
		out = append(out, &model.DefinitionFile{Path: p, Content: string(f.Data)})
	}
	return out, nil
}

// kindFolder is the folder semantic.DefinitionFiles puts definitions of a kind in.
func kindFolder(k store.Kind) string { return string(k) + "s" }

// threaded returns the comments that reply to parent (0: to the request itself), oldest first.
func threaded(all []store.Comment, parent int64) []*store.Comment {
	out := []*store.Comment{}
	for i := range all {
		if all[i].Parent == parent {
			out = append(out, &all[i])
		}
	}
	return out
}

// transition runs one step of the workflow on the change request of an ID.
func (r *mutationResolver) transition(ctx context.Context, id string, step func(*semantic.Governance, *semantic.Access, int64) (store.ChangeRequest, error)) (*store.ChangeRequest, error) {
	n, err := changeRequestID(id)
	if err != nil {
		return nil, err
	}
	return withGovernance(r.svc, func(gov *semantic.Governance) (store.ChangeRequest, error) {
		return step(gov, accessFor(ctx), n)
	})
}

// withGovernance calls fn with the service's governance and returns what it made, or
// errNotGoverned.
func withGovernance[T any](svc *semantic.Service, fn func(*semantic.Governance) (T, error)) (*T, error) {
	gov, err := governanceOf(svc)
	if err != nil {
		return nil, err
	}
	v, err := fn(gov)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// proposalOf is a proposal as the API's inputs describe it, without its items.
func proposalOf(title string, rationale *string, draft *bool, reviewers, subscribers []string, audience *model.AudienceInput) semantic.Proposal {
	return semantic.Proposal{Title: title, Rationale: deref(rationale), Draft: draft != nil && *draft,
		Reviewers: reviewers, Subscribers: subscribers, Audience: audienceOf(audience)}
}

// currentVersion returns the version of a definition the caller's catalog serves; null for
// definitions read from files, which have number 0.
func currentVersion(ctx context.Context, kind store.Kind, name string, number int) (*store.Version, error) {
	if number == 0 {
		return nil, nil
	}
	return governanceLoadersFor(ctx).currentVersion.Load(ctx, versionKey(kind, name, number))()
}

// versionConnection returns a page of versions, newest first; a cursor holds a version's number.
func versionConnection(vs []store.Version, first *int, after *string) (*model.MetricVersionConnection, error) {
	n, below, err := pageArgs(first, after)
	if err != nil {
		return nil, err
	}
	out := &model.MetricVersionConnection{Edges: []*model.MetricVersionEdge{}, PageInfo: &model.PageInfo{HasPreviousPage: after != nil}, TotalCount: len(vs)}
	for i := len(vs) - 1; i >= 0; i-- {
		v := &vs[i]
		if after != nil && int64(v.Number) >= below {
			continue
		}
		if len(out.Edges) == n {
			out.PageInfo.HasNextPage = true
			break
		}
		out.Edges = append(out.Edges, &model.MetricVersionEdge{Cursor: encodeCursor(strconv.Itoa(v.Number)), Node: v})
	}
	setPageCursors(out.PageInfo, len(out.Edges), func(i int) *string { return &out.Edges[i].Cursor })
	return out, nil
}

// requestDiff returns the field changes of each item of a request: its proposed version against
// the version it was proposed on. The versions of every item of every request of a page are read
// in one batch.
func requestDiff(ctx context.Context, cr *store.ChangeRequest) ([]*model.DefinitionDiff, error) {
	l := governanceLoadersFor(ctx)
	thunks := make([]func() ([]store.Version, error), len(cr.Items))
	for i, it := range cr.Items {
		thunks[i] = l.versions.Load(ctx, definitionKey(it.Kind, it.Name))
	}
	out := make([]*model.DefinitionDiff, len(cr.Items))
	for i, it := range cr.Items {
		vs, err := thunks[i]()
		if err != nil {
			return nil, err
		}
		changes, err := semantic.DiffDefinitions(definitionAt(vs, it.BaseVersion), definitionAt(vs, it.Version))
		if err != nil {
			return nil, err
		}
		out[i] = &model.DefinitionDiff{Kind: it.Kind, Name: it.Name, Changes: pointers(nonNil(changes))}
	}
	return out, nil
}

// definitionAt returns the definition of a version, or "" when there is no such version (0: the
// definition did not exist).
func definitionAt(vs []store.Version, number int) string {
	for _, v := range vs {
		if v.Number == number {
			return v.Definition
		}
	}
	return ""
}

// versionDiff returns the changes of a version from another: the one before it, unless against
// names one.
func versionDiff(ctx context.Context, v *store.Version, against *int) ([]*semantic.FieldChange, error) {
	vs, err := governanceLoadersFor(ctx).versions.Load(ctx, definitionKey(v.Kind, v.Name))()
	if err != nil {
		return nil, err
	}
	base := 0
	if against != nil {
		base = *against
		if !slices.ContainsFunc(vs, func(x store.Version) bool { return x.Number == base }) {
			return nil, notFoundf("%s %s has no version %d to compare with; it has versions 1 to %d", v.Kind, v.Name, base, len(vs))
		}
	} else {
		for _, x := range vs {
			if x.Number < v.Number && x.Number > base {
				base = x.Number
			}
		}
	}
	changes, err := semantic.DiffDefinitions(definitionAt(vs, base), v.Definition)
	return pointers(nonNil(changes)), err
}

// domainBoard gathers a domain's open, overdue and sent-back requests and its metrics' feedback.
func domainBoard(ctx context.Context, svc *semantic.Service, name string) (*model.DomainBoard, error) {
	gov, err := governanceOf(svc)
	if err != nil {
		return nil, err
	}
	acc := accessFor(ctx)
	d, err := acc.FindDomain(name)
	if err != nil {
		return nil, err
	}
	board := &model.DomainBoard{Domain: d, Open: []*store.ChangeRequest{}, Overdue: []*store.ChangeRequest{}, ChangesRequested: []*store.ChangeRequest{}, Feedback: []*store.Feedback{}}
	waiting, err := gov.ChangeRequests(ctx, acc, store.CRQuery{Domain: name, Statuses: []store.CRStatus{store.CROpen, store.CRChangesRequested}, Limit: 1000})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(waiting, func(a, b store.ChangeRequest) int { return a.DueAt.Compare(b.DueAt) })
	for i := range waiting {
		cr := &waiting[i]
		if cr.Status == store.CROpen {
			board.Open = append(board.Open, cr)
		} else {
			board.ChangesRequested = append(board.ChangesRequested, cr)
		}
		if gov.Overdue(*cr) {
			board.Overdue = append(board.Overdue, cr)
		}
	}
	fs, err := gov.Feedback(ctx, acc, store.FeedbackQuery{Unresolved: true, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for i := range fs {
		if m := acc.Metric(fs[i].Metric); m != nil && m.Domain == name {
			board.Feedback = append(board.Feedback, &fs[i])
		}
	}
	return board, nil
}

// auditEventPage returns a page of the caller's tenant's audit log, oldest first; a cursor holds
// an event's sequence number.
func auditEventPage(ctx context.Context, svc *semantic.Service, f *model.AuditEventFilter, first *int, after *string) (*model.AuditEventConnection, error) {
	gov, err := governanceOf(svc)
	if err != nil {
		return nil, err
	}
	n, afterSeq, err := pageArgs(first, after)
	if err != nil {
		return nil, err
	}
	q, err := eventQuery(f)
	if err != nil {
		return nil, err
	}
	q.AfterSeq, q.Limit = afterSeq, n+1
	es, err := gov.Events(ctx, accessFor(ctx), q)
	if err != nil {
		return nil, err
	}
	out := &model.AuditEventConnection{Edges: []*model.AuditEventEdge{}, PageInfo: &model.PageInfo{HasPreviousPage: afterSeq > 0}}
	if len(es) > n {
		es, out.PageInfo.HasNextPage = es[:n], true
	}
	for i := range es {
		out.Edges = append(out.Edges, &model.AuditEventEdge{Cursor: encodeCursor(strconv.FormatInt(es[i].Seq, 10)), Node: &es[i]})
	}
	setPageCursors(out.PageInfo, len(out.Edges), func(i int) *string { return &out.Edges[i].Cursor })
	return out, nil
}

// eventQuery turns an audit filter into the store's query.
func eventQuery(f *model.AuditEventFilter) (store.EventQuery, error) {
	var q store.EventQuery
	if f == nil {
		return q, nil
	}
	q.Types, q.Actor, q.Object = f.Types, deref(f.Actor), deref(f.Object)
	for _, t := range []struct {
		in  *string
		out *time.Time
		arg string
	}{{f.Since, &q.Since, "since"}, {f.Until, &q.Until, "until"}} {
		if t.in == nil {
			continue
		}
		v, err := parseTime(*t.in)
		if err != nil {
			return q, invalidf("%s: %v", t.arg, err)
		}
		*t.out = v
	}
	return q, nil
}

// feedbackPage returns a page of the feedback the caller may see, newest first; a cursor holds
// a report's ID.
func feedbackPage(ctx context.Context, svc *semantic.Service, f *model.FeedbackFilter, first *int, after *string) (*model.FeedbackConnection, error) {
	gov, err := governanceOf(svc)
	if err != nil {
		return nil, err
	}
	n, beforeID, err := pageArgs(first, after)
	if err != nil {
		return nil, err
	}
	q := store.FeedbackQuery{BeforeID: beforeID, Limit: maxPageSize}
	if f != nil {
		q.Metric, q.Owner, q.Unresolved = deref(f.Metric), deref(f.Owner), f.Unresolved != nil && *f.Unresolved
	}
	acc := accessFor(ctx)
	var got []store.Feedback
	for len(got) <= n {
		raw, err := gov.Store().Feedback(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(raw) == 0 {
			break
		}
		// The same query over the same IDs, through the workflow, which leaves out the feedback
		// on metrics the caller may not see.
		vq := q
		vq.BeforeID, vq.Limit = raw[0].ID+1, len(raw)
		q.BeforeID = raw[len(raw)-1].ID
		visible, err := gov.Feedback(ctx, acc, vq)
		if err != nil {
			return nil, err
		}
		got = append(got, visible...)
		if len(raw) < maxPageSize {
			break
		}
	}
	out := &model.FeedbackConnection{Edges: []*model.FeedbackEdge{}, PageInfo: &model.PageInfo{HasPreviousPage: after != nil}}
	if len(got) > n {
		got, out.PageInfo.HasNextPage = got[:n], true
	}
	for i := range got {
		out.Edges = append(out.Edges, &model.FeedbackEdge{Cursor: encodeCursor(strconv.FormatInt(got[i].ID, 10)), Node: &got[i]})
	}
	setPageCursors(out.PageInfo, len(out.Edges), func(i int) *string { return &out.Edges[i].Cursor })
	return out, nil
}
