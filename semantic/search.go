package semantic

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"weak"
)

// The catalog's search (智能搜索) finds metrics and dimensions by what people call them: their
// names, labels, synonyms and descriptions, in English and Chinese, ranked by how well they
// match, and tolerant of a typo. Every surface asks it — GraphQL's search and
// metrics(filter: {search}), MCP's search_metrics — so a word finds the same things everywhere.
//
// The index is built once per catalog, the first time anyone searches it (catalogs are
// immutable; a publication makes a new one), and shared by every caller. It knows every
// definition; what a caller may not see is dropped from the candidates before anything is
// scored or counted, and every decision a search makes on the way — whether a word is a typo,
// whether a Chinese phrase is matched loosely, which words a relaxed query leaves out — is made
// over what the caller may see. So a
// caller's results are exactly those of a catalog holding only what it sees, and a score never
// depends on another definition: hidden ones cannot move it.
//
// How a query matches (see searchtext.go for how text is read):
//   - Every Latin word of the query must be in the text, as a word or the start of one
//     ("ord" finds order and ordering); English stop words ("of", "per") need not be.
//   - A word of four letters or more that nothing the caller sees holds, as a word or the start
//     of one, matches the words one typo away instead — a letter left out, added, changed, or
//     two neighbours swapped ("averge", "gmv_piad") — found through a symmetric-delete index
//     (each word of the catalog filed under itself with each letter left out), not by a scan.
//   - A run of Chinese characters must have all its bigrams in the text ("客单价" is 客单 and
//     单价; one character alone must be there); when nothing the caller sees has them all, a
//     run of three characters or more may miss one (a mistyped character at either end).
//   - The words may be spread over several fields: "paid 成交" finds gmv_paid by its label and
//     a synonym.
//   - When nothing the caller sees matches every word and run, Search (and search_metrics)
//     relaxes the query, as Algolia's removeWordsIfNoResults: lastWords does: it leaves out the
//     words and runs that match nothing the caller sees even alone and with the typo tolerance
//     ("华东" in "华东 支付金额"), then, one at a time until something matches, those that match
//     only through the typo tolerance ("east", read as "last") and then the last of the others.
//     The result lists what it left out, as typed (SearchResult.Ignored). A query whose every
//     word matches nothing finds nothing and leaves nothing out. A filter (MetricSearch without
//     Relax) never relaxes. Relaxing happens only when the query as written finds nothing, so
//     its hits never mix with the strict ones.
//
// How it ranks: each query word or run (stop words aside) scores the best of its matches, weighted
// by the field (name 3, label and synonyms 2.5, description 1) and by how it matched (whole word 1,
// the start of a word 0.8, a typo 0.6; a run the share of its bigrams); the field the query covers
// best adds its weight times the square of the share of its words matched, so "gmv paid" puts
// gmv_paid above gmv_paid_7d; and a field the query spells out exactly ("客单价", "gmv paid") adds
// twice its weight. A relaxed query scores over the words it kept, as if they alone had been typed,
// times the share of the required words it kept.

// SearchField names the part of a definition a search matched.
type SearchField string

// The fields the search reads, in order of weight.
const (
	SearchName        SearchField = "name"
	SearchLabel       SearchField = "label"
	SearchSynonym     SearchField = "synonym"
	SearchDescription SearchField = "description"
)

// fieldWeight is how much a match in each field counts.
func fieldWeight(f SearchField) float64 {
	switch f {
	case SearchName:
		return 3
	case SearchLabel, SearchSynonym:
		return 2.5
	}
	return 1
}

// The ways a query's word can match a word of the index, and what each counts.
const (
	matchWord   = 1.0
	matchPrefix = 0.8
	matchTypo   = 0.6
)

// SearchKind says what a search hit is.
type SearchKind string

// The kinds of things a search finds.
const (
	SearchMetric    SearchKind = "metric"
	SearchDimension SearchKind = "dimension"
)

// SearchRequest asks the catalog's search.
type SearchRequest struct {
	// Text is what to look for: words and Chinese text, in any order and case.
	Text string
	// Kinds keeps metrics, dimensions or both (empty: both).
	Kinds []SearchKind
	// Domain keeps the metrics of one business domain (and no dimension); empty keeps all.
	Domain string
	// Tag keeps what carries the tag; empty keeps all.
	Tag string
	// Limit is the most hits returned, best first; 0 returns every hit.
	Limit int
}

// SearchResult is what a search found.
type SearchResult struct {
	// Hits are the best matches, best first, at most the request's Limit of them.
	Hits []SearchHit
	// Total is how many things the caller may see match, those past the limit included.
	Total int
	// Ignored are the words and Chinese runs of the query, as typed and in its order, that the
	// search left out because no hit held every word (see the comment at the top); empty when
	// the hits hold every word, and when there are none.
	Ignored []string
}

// SearchHit is one metric or dimension a search found.
type SearchHit struct {
	// Exactly one of Metric and Dimension is set.
	Metric    *Metric
	Dimension *Dimension
	// Score is how well it matches: higher is better. It depends only on the query and the
	// definition, so scores compare across searches of the same text.
	Score float64
	// Matches are the fields the query matched, best first, with the parts to highlight.
	Matches []SearchMatch
}

// SearchMatch is a field a query matched.
type SearchMatch struct {
	Field SearchField
	// Text is the field's text as defined: the name, the label, the one synonym, the
	// description.
	Text string
	// Spans are the parts of Text the query matched, in order.
	Spans []TextSpan
}

// TextSpan is a part of a text, counted in characters (Unicode code points) from 0; End is
// exclusive.
type TextSpan struct {
	Start, End int
}

// MetricSearch selects metrics; every condition that is set must hold. GraphQL's
// metrics(filter:) and MCP's search_metrics ask it.
type MetricSearch struct {
	// Text keeps the metrics the search finds for it, best first; empty keeps all, by name.
	Text string
	// Domain keeps the metrics of one business domain; empty keeps all.
	Domain string
	// Tag keeps the metrics that carry the tag; empty keeps all.
	Tag string
	// Relax lets the search leave words out when no metric holds them all, as Search does, and
	// say which. A filter that must hold as written (GraphQL's metrics(filter:)) leaves it
	// unset.
	Relax bool
}

// MetricSearchResult is what SearchMetrics found.
type MetricSearchResult struct {
	// Metrics are the metrics found: best first, or by name for a search without text.
	Metrics []*Metric
	// Ignored are the query's words the search left out, as SearchResult.Ignored.
	Ignored []string
}

// SearchMetrics returns the metrics the caller can see that match s: ranked by the search when
// s has text, sorted by name when it has none. A domain the caller cannot see is unknown
// (ErrNotFound), as one that does not exist.
func (a *Access) SearchMetrics(s MetricSearch) (MetricSearchResult, error) {
	if s.Domain != "" {
		if _, err := a.FindDomain(s.Domain); err != nil {
			return MetricSearchResult{}, err
		}
	}
	req := SearchRequest{Text: s.Text, Kinds: []SearchKind{SearchMetric}, Domain: s.Domain, Tag: s.Tag}
	var out MetricSearchResult
	if len(analyzeText(s.Text)) == 0 {
		for _, m := range a.Metrics() {
			if req.keeps(m, nil) {
				out.Metrics = append(out.Metrics, m)
			}
		}
		return out, nil
	}
	res := a.cat.searchIndex().search(a, req, searchOptions{relax: s.Relax})
	out.Metrics, out.Ignored = make([]*Metric, len(res.Hits)), res.Ignored
	for i, h := range res.Hits {
		out.Metrics[i] = h.Metric
	}
	return out, nil
}

// Search returns the metrics and dimensions the caller can see that match the request, best
// first. A domain the caller cannot see is unknown (ErrNotFound), as one that does not exist.
// Text without a word or a character to look for finds nothing.
func (a *Access) Search(req SearchRequest) (SearchResult, error) {
	if req.Domain != "" {
		if _, err := a.FindDomain(req.Domain); err != nil {
			return SearchResult{}, err
		}
	}
	if req.Limit < 0 {
		return SearchResult{}, invalid("limit %d is negative; ask for 1 or more hits, or 0 for all", req.Limit)
	}
	return a.cat.searchIndex().search(a, req, searchOptions{matches: true, relax: true}), nil
}

// keeps reports whether the request's kinds, domain and tag keep a metric (or a dimension).
func (req *SearchRequest) keeps(m *Metric, d *Dimension) bool {
	kind := SearchMetric
	if d != nil {
		kind = SearchDimension
	}
	if len(req.Kinds) > 0 && !slices.Contains(req.Kinds, kind) {
		return false
	}
	if m != nil {
		return (req.Domain == "" || m.Domain == req.Domain) && (req.Tag == "" || slices.Contains(m.Tags, req.Tag))
	}
	return req.Domain == "" && (req.Tag == "" || slices.Contains(d.Tags, req.Tag))
}

// searchIndexes holds each catalog's search index, built the first time the catalog is
// searched; an entry goes once its catalog is garbage. The index is kept beside the catalog,
// not in it, as a cache of what the catalog holds.
var searchIndexes sync.Map // weak.Pointer[Catalog] → *searchOnce

// searchOnce builds one catalog's index once.
type searchOnce struct {
	once  sync.Once
	index *searchIndex
}

// searchIndex returns the catalog's search index, building it the first time.
func (c *Catalog) searchIndex() *searchIndex {
	key := weak.Make(c)
	v, ok := searchIndexes.Load(key)
	if !ok {
		var loaded bool
		if v, loaded = searchIndexes.LoadOrStore(key, &searchOnce{}); !loaded {
			runtime.AddCleanup(c, func(k weak.Pointer[Catalog]) { searchIndexes.Delete(k) }, key)
		}
	}
	so := v.(*searchOnce)
	so.once.Do(func() { so.index = buildSearchIndex(c) })
	return so.index
}

// searchIndex is an inverted index of a catalog's metrics and dimensions. It is immutable once
// built and safe for concurrent use.
type searchIndex struct {
	docs []searchDoc
	// terms numbers the words, CJK characters and CJK bigrams of every text, and texts holds
	// each by its number; postings lists the documents holding each, in increasing order, each
	// once.
	terms    map[string]int32
	texts    []string
	postings [][]int32
	// latin lists the Latin words, sorted, to find those a query's word starts.
	latin []string
	// deletes files each Latin word of three letters or more under each of its variants with
	// one letter left out: the symmetric-delete index of words one typo away.
	deletes map[string][]int32

	scratch sync.Pool
}

// searchDoc is one metric or dimension, its texts analysed.
type searchDoc struct {
	metric *Metric
	dim    *Dimension
	// name is the metric's name, or the dimension's qualified one, which hits of the same score
	// are sorted by; kept so that sorting does not build it at every comparison.
	name  string
	slots []searchSlot
}

// searchSlot is one text of a document: its name, its label, one synonym or its description.
type searchSlot struct {
	field SearchField
	text  string
	// units are the text's words and CJK characters as terms, in order; pairs[i], when not -1,
	// is the bigram of units i and i+1 (neighbouring characters of one run).
	units []int32
	pairs []int32
}

// buildSearchIndex indexes every metric and dimension of a catalog.
func buildSearchIndex(c *Catalog) *searchIndex {
	ix := &searchIndex{terms: map[string]int32{}, deletes: map[string][]int32{}}
	add := func(doc *searchDoc, field SearchField, text string) {
		if text == "" {
			return
		}
		units := analyzeText(text)
		if len(units) == 0 {
			return
		}
		docID := int32(len(ix.docs))
		s := searchSlot{field: field, text: text, units: make([]int32, len(units)), pairs: make([]int32, len(units))}
		for i, u := range units {
			s.units[i] = ix.term(u.text, docID)
			s.pairs[i] = -1
			if i > 0 && u.cjk && units[i-1].cjk && units[i-1].run == u.run {
				s.pairs[i-1] = ix.term(cjkBigram(units[i-1].text, u.text), docID)
			}
		}
		doc.slots = append(doc.slots, s)
	}
	for _, m := range c.metrics {
		doc := searchDoc{metric: m, name: m.Name}
		add(&doc, SearchName, doc.name)
		add(&doc, SearchLabel, m.Label)
		for _, s := range m.Synonyms {
			add(&doc, SearchSynonym, s)
		}
		add(&doc, SearchDescription, m.Description)
		ix.docs = append(ix.docs, doc)
	}
	for _, model := range c.models {
		for _, d := range model.Dimensions {
			doc := searchDoc{dim: d, name: d.QualifiedName()}
			add(&doc, SearchName, doc.name)
			add(&doc, SearchLabel, d.Label)
			for _, s := range d.Synonyms {
				add(&doc, SearchSynonym, s)
			}
			add(&doc, SearchDescription, d.Description)
			ix.docs = append(ix.docs, doc)
		}
	}
	for t, id := range ix.terms {
		if r := []rune(t); isCJK(r[0]) {
			continue
		}
		ix.latin = append(ix.latin, t)
		if letters(t) >= 3 {
			for _, v := range deletions(t) {
				ix.deletes[v] = append(ix.deletes[v], id)
			}
		}
	}
	sort.Strings(ix.latin)
	n := len(ix.docs)
	ix.scratch.New = func() any { return newSearchScratch(n, len(ix.postings)) }
	return ix
}

// term returns the number of a term, adding it, and files the document under it.
func (ix *searchIndex) term(t string, doc int32) int32 {
	id, ok := ix.terms[t]
	if !ok {
		id = int32(len(ix.postings))
		ix.terms[t] = id
		ix.texts = append(ix.texts, t)
		ix.postings = append(ix.postings, nil)
	}
	if p := ix.postings[id]; len(p) == 0 || p[len(p)-1] != doc {
		ix.postings[id] = append(p, doc)
	}
	return id
}

// searchScratch is the working memory of one search, reused across searches of an index.
type searchScratch struct {
	// count is how many required groups each document has matched so far; mark is the last
	// group that counted it; tally counts a CJK group's bigrams in it.
	count []uint8
	mark  []uint16
	tally []uint8
	// match indexes each term's entry in a search's term matches, or is -1.
	match []int32
	// touched and tallied keep their arrays between the passes of candidates, which a relaxed
	// search runs once for each group and more.
	touched, tallied []int32
}

func newSearchScratch(docs, terms int) *searchScratch {
	s := &searchScratch{count: make([]uint8, docs), mark: make([]uint16, docs), tally: make([]uint8, docs), match: make([]int32, terms)}
	for i := range s.match {
		s.match[i] = -1
	}
	return s
}

// maxSearchGroups bounds the words and runs of a query that count; the rest are ignored.
const maxSearchGroups = 32

// queryGroup is a word of a query, or a run of its CJK characters.
type queryGroup struct {
	word string
	// chars are a run's characters; bigrams its bigrams' terms (-1 for one no text holds).
	chars   []string
	bigrams []int32
	// optional groups (stop words) count where they match but are not required; dropped ones,
	// left out by a relaxed search, neither count nor are required; fuzzy ones match only
	// through the typo tolerance (a word one typo away, a run missing a bigram).
	optional, dropped, fuzzy bool
	// need is how many of a run's bigrams a text must hold.
	need int
	// start and end place the group's first occurrence in the query's text, in characters.
	start, end int
}

func (g *queryGroup) cjk() bool { return g.chars != nil }

// termMatch is what a term means for a search: each group it matches and how well.
type termMatch struct {
	group   int
	quality float64
	// what it is for the group: a word (or the run's one character), a bigram of the run, or a
	// character of the run (which counts towards coverage only).
	kind matchKind
}

type matchKind uint8

const (
	matchesWord matchKind = iota
	matchesBigram
	matchesChar
)

// query is a search's query, analysed against an index.
type query struct {
	groups []queryGroup
	// units are the query's words and characters as terms (-1 for one no text holds), to tell a
	// text that spells the query out, and unitGroups the group of each; spelled are the units of
	// the groups not dropped.
	units      []int32
	unitGroups []int
	spelled    []int32
	// matches holds, for each term that means something to the query, what it means; the
	// scratch's match array indexes it.
	matches [][]termMatch
	terms   []int32
}

// note records that term t matches group g.
func (q *query) note(s *searchScratch, t int32, m termMatch) {
	i := s.match[t]
	if i < 0 {
		i = int32(len(q.matches))
		s.match[t] = i
		q.matches = append(q.matches, nil)
		q.terms = append(q.terms, t)
	}
	for j, e := range q.matches[i] {
		if e.group == m.group && e.kind == m.kind {
			q.matches[i][j].quality = max(e.quality, m.quality)
			return
		}
	}
	q.matches[i] = append(q.matches[i], m)
}

// release resets the scratch's term matches.
func (q *query) release(s *searchScratch) {
	for _, t := range q.terms {
		s.match[t] = -1
	}
}

// analyzeQuery reads a query's text into groups.
func (ix *searchIndex) analyzeQuery(text string) *query {
	q := &query{}
	units := analyzeText(text)
	lookup := func(t string) int32 {
		if id, ok := ix.terms[t]; ok {
			return id
		}
		return -1
	}
	seen := map[string]int{}
	for i := 0; i < len(units); i++ {
		u := units[i]
		q.units = append(q.units, lookup(u.text))
		if !u.cjk {
			gi, ok := seen[u.text]
			if !ok {
				gi = len(q.groups)
				seen[u.text] = gi
				q.groups = append(q.groups, queryGroup{word: u.text, optional: stopWords[u.text], start: u.start, end: u.end})
			}
			q.unitGroups = append(q.unitGroups, gi)
			continue
		}
		g := queryGroup{chars: []string{u.text}, start: u.start, end: u.end}
		for i+1 < len(units) && units[i+1].cjk && units[i+1].run == u.run {
			i++
			q.units = append(q.units, lookup(units[i].text))
			g.chars = append(g.chars, units[i].text)
			g.end = units[i].end
		}
		key := strings.Join(g.chars, "")
		gi, ok := seen[key]
		if !ok {
			gi = len(q.groups)
		}
		for range g.chars {
			q.unitGroups = append(q.unitGroups, gi)
		}
		if ok {
			continue
		}
		seen[key] = gi
		for j := 0; j+1 < len(g.chars); j++ {
			b := lookup(cjkBigram(g.chars[j], g.chars[j+1]))
			if !slices.Contains(g.bigrams, b) || b < 0 {
				g.bigrams = append(g.bigrams, b)
			}
		}
		q.groups = append(q.groups, g)
	}
	if len(q.groups) > maxSearchGroups {
		q.groups = q.groups[:maxSearchGroups]
	}
	q.spelled = q.units
	// A query of stop words alone requires them.
	if !slices.ContainsFunc(q.groups, func(g queryGroup) bool { return !g.optional }) {
		for i := range q.groups {
			q.groups[i].optional = false
		}
	}
	return q
}

// searchOptions say what a search does beyond finding the hits.
type searchOptions struct {
	// matches fills each hit's matches, for highlighting.
	matches bool
	// relax leaves words out when no hit holds them all.
	relax bool
}

// search runs a request as acc's caller: the hits, best first and at most req.Limit of them,
// with their matches when asked, how many there are in all, and the words left out.
func (ix *searchIndex) search(acc *Access, req SearchRequest, opt searchOptions) SearchResult {
	s := ix.scratch.Get().(*searchScratch)
	defer ix.scratch.Put(s)
	q := ix.analyzeQuery(req.Text)
	defer q.release(s)
	if len(q.groups) == 0 {
		return SearchResult{}
	}
	eligible := func(doc int32) bool {
		d := &ix.docs[doc]
		if !req.keeps(d.metric, d.dim) {
			return false
		}
		if d.metric != nil {
			return acc.CanReadMetric(d.metric)
		}
		return acc.CanReadDimension(d.dim)
	}
	anyEligible := func(postings ...[]int32) bool {
		for _, p := range postings {
			if slices.ContainsFunc(p, eligible) {
				return true
			}
		}
		return false
	}
	for gi := range q.groups {
		if q.groups[gi].cjk() {
			ix.planRun(q, s, gi, anyEligible)
		} else {
			ix.planWord(q, s, gi, anyEligible)
		}
	}
	cands := ix.candidates(q, s, eligible)
	scale := 1.0
	if len(cands) == 0 && opt.relax {
		var kept, required int
		cands, kept, required = ix.relax(q, s, eligible)
		scale = float64(kept) / float64(required)
	}
	if len(cands) == 0 {
		return SearchResult{}
	}
	for i := range cands {
		cands[i].score = scale * ix.score(q, s, &ix.docs[cands[i].doc])
	}
	slices.SortFunc(cands, func(a, b scoredDoc) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		da, db := &ix.docs[a.doc], &ix.docs[b.doc]
		if (da.metric == nil) != (db.metric == nil) {
			if da.metric != nil {
				return -1
			}
			return 1
		}
		return strings.Compare(da.name, db.name)
	})
	res := SearchResult{Total: len(cands), Ignored: q.ignored(req.Text)}
	if req.Limit > 0 && len(cands) > req.Limit {
		cands = cands[:req.Limit]
	}
	res.Hits = make([]SearchHit, len(cands))
	for i, c := range cands {
		d := &ix.docs[c.doc]
		res.Hits[i] = SearchHit{Metric: d.metric, Dimension: d.dim, Score: math.Round(c.score*1000) / 1000}
		if opt.matches {
			res.Hits[i].Matches = ix.matches(q, s, d)
		}
	}
	return res
}

// candidates returns the documents the caller may see that match every group required and not
// dropped; none when no group is.
func (ix *searchIndex) candidates(q *query, s *searchScratch, eligible func(int32) bool) []scoredDoc {
	touched := s.touched[:0]
	required := 0
	for gi := range q.groups {
		g := &q.groups[gi]
		if g.optional || g.dropped {
			continue
		}
		level := uint8(required)
		required++
		if g.cjk() && g.need > 0 {
			// Tally the run's bigrams (or its one character) in each document still in.
			tallied := s.tallied[:0]
			count := func(t int32) {
				for _, d := range ix.postings[t] {
					if s.count[d] != level {
						continue
					}
					if s.tally[d] == 0 {
						tallied = append(tallied, d)
					}
					s.tally[d]++
				}
			}
			if len(g.chars) == 1 {
				if t, ok := ix.terms[g.chars[0]]; ok {
					count(t)
				}
			} else {
				for _, b := range g.bigrams {
					if b >= 0 {
						count(b)
					}
				}
			}
			for _, d := range tallied {
				if int(s.tally[d]) >= g.need {
					if level == 0 {
						touched = append(touched, d)
					}
					s.count[d]++
				}
				s.tally[d] = 0
			}
			s.tallied = tallied
			continue
		}
		if g.cjk() {
			continue
		}
		stamp := uint16(gi + 1)
		for _, t := range q.terms {
			for _, m := range q.matches[s.match[t]] {
				if m.group != gi {
					continue
				}
				for _, d := range ix.postings[t] {
					if s.count[d] != level || s.mark[d] == stamp {
						continue
					}
					s.mark[d] = stamp
					if level == 0 {
						touched = append(touched, d)
					}
					s.count[d]++
				}
			}
		}
	}
	var cands []scoredDoc
	s.touched = touched
	for _, d := range touched {
		if required > 0 && int(s.count[d]) == required && eligible(d) {
			cands = append(cands, scoredDoc{doc: d})
		}
		s.count[d], s.mark[d] = 0, 0
	}
	return cands
}

// relax searches again when nothing the caller may see matches every word of the query: first
// without the words and runs that match nothing it may see on their own, then without the last
// of the others, one by one, until something matches; those that match only through the typo
// tolerance are left out before the others. It returns what matched, with how many
// required groups were kept of how many. The groups left out are marked dropped, and the
// query's spelled units are those of the groups kept.
func (ix *searchIndex) relax(q *query, s *searchScratch, eligible func(int32) bool) (cands []scoredDoc, kept, required int) {
	var live []int
	for gi := range q.groups {
		if !q.groups[gi].optional {
			required++
			q.groups[gi].dropped = true
		}
	}
	var fuzzy []int
	for gi := range q.groups {
		if q.groups[gi].optional {
			continue
		}
		q.groups[gi].dropped = false
		if len(ix.candidates(q, s, eligible)) > 0 {
			if q.groups[gi].fuzzy {
				fuzzy = append(fuzzy, gi)
			} else {
				live = append(live, gi)
			}
		}
		q.groups[gi].dropped = true
	}
	// The words that match only through the typo tolerance go first: when the query fails
	// anyway, a word the catalog does not know ("east", read as "last") is likelier than a typo.
	live = append(live, fuzzy...)
	for _, gi := range live {
		q.groups[gi].dropped = false
	}
	for kept = len(live); kept > 0; kept-- {
		if cands = ix.candidates(q, s, eligible); len(cands) > 0 {
			break
		}
		q.groups[live[kept-1]].dropped = true
	}
	q.spelled = nil
	for i, u := range q.units {
		if gi := q.unitGroups[i]; gi >= len(q.groups) || !q.groups[gi].dropped {
			q.spelled = append(q.spelled, u)
		}
	}
	return cands, kept, required
}

// ignored returns the groups a relaxed search dropped, as the query's text has them.
func (q *query) ignored(text string) []string {
	var out []string
	var rs []rune
	for _, g := range q.groups {
		if !g.dropped {
			continue
		}
		if rs == nil {
			rs = []rune(text)
		}
		out = append(out, string(rs[g.start:g.end]))
	}
	return out
}

type scoredDoc struct {
	doc   int32
	score float64
}

// planWord finds the terms a query's word matches: itself, the words it starts, and — when
// nothing the caller may see holds either, and the word has four letters or more — the words
// one typo away.
func (ix *searchIndex) planWord(q *query, s *searchScratch, gi int, anyEligible func(...[]int32) bool) {
	w := q.groups[gi].word
	var found [][]int32
	if t, ok := ix.terms[w]; ok {
		q.note(s, t, termMatch{group: gi, quality: matchWord})
		found = append(found, ix.postings[t])
	}
	if q.groups[gi].optional {
		return
	}
	if len(w) >= 2 {
		for i := sort.SearchStrings(ix.latin, w); i < len(ix.latin) && strings.HasPrefix(ix.latin[i], w); i++ {
			if ix.latin[i] == w {
				continue
			}
			t := ix.terms[ix.latin[i]]
			q.note(s, t, termMatch{group: gi, quality: matchPrefix})
			found = append(found, ix.postings[t])
		}
	}
	if letters(w) < 4 || anyEligible(found...) {
		return
	}
	q.groups[gi].fuzzy = true
	for _, t := range ix.typos(w) {
		q.note(s, t, termMatch{group: gi, quality: matchTypo})
	}
}

// typos returns the terms one typo from w (Damerau–Levenshtein distance 1, a swap of
// neighbours counting one), found through the symmetric-delete index: a term one insertion,
// deletion, substitution or swap away shares w itself or one of its one-letter deletions with
// the term's own deletions. Each candidate is then measured, as deletions also meet at
// distance 2.
func (ix *searchIndex) typos(w string) []int32 {
	var cands []int32
	cands = append(cands, ix.deletes[w]...)
	for _, v := range deletions(w) {
		if t, ok := ix.terms[v]; ok {
			cands = append(cands, t)
		}
		cands = append(cands, ix.deletes[v]...)
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	out := cands[:0]
	for _, t := range cands {
		if editDistance(w, ix.texts[t]) == 1 {
			out = append(out, t)
		}
	}
	return out
}

// planRun notes the terms of a query's run of CJK characters: its characters (for coverage and
// exact matches) and its bigrams, and how many of them a text must hold: all of them, or, when
// nothing the caller may see holds them all and the run has three characters or more, all but
// one.
func (ix *searchIndex) planRun(q *query, s *searchScratch, gi int, anyEligible func(...[]int32) bool) {
	g := &q.groups[gi]
	for _, c := range g.chars {
		if t, ok := ix.terms[c]; ok {
			kind := matchesChar
			if len(g.chars) == 1 {
				kind = matchesWord
			}
			q.note(s, t, termMatch{group: gi, quality: matchWord, kind: kind})
		}
	}
	if len(g.chars) == 1 {
		g.need = 1
		if _, ok := ix.terms[g.chars[0]]; !ok {
			g.need = 0
		}
		return
	}
	for _, b := range g.bigrams {
		if b >= 0 {
			q.note(s, b, termMatch{group: gi, quality: matchWord, kind: matchesBigram})
		}
	}
	g.need = len(g.bigrams)
	if g.optional || len(g.chars) < 3 || ix.anyHoldsAll(g.bigrams, anyEligible) {
		if slices.Contains(g.bigrams, -1) {
			g.need = 0 // no text holds one of them: nothing can match
		}
		return
	}
	g.need = len(g.bigrams) - 1
	g.fuzzy = true
	missing := 0
	for _, b := range g.bigrams {
		if b < 0 {
			missing++
		}
	}
	if missing > 1 {
		g.need = 0
	}
}

// anyHoldsAll reports whether a document the caller may see holds every one of the bigrams.
func (ix *searchIndex) anyHoldsAll(bigrams []int32, anyEligible func(...[]int32) bool) bool {
	if slices.Contains(bigrams, -1) {
		return false
	}
	common := ix.postings[bigrams[0]]
	for _, b := range bigrams[1:] {
		common = intersect(common, ix.postings[b])
		if len(common) == 0 {
			return false
		}
	}
	return anyEligible(common)
}

// intersect returns the documents of two increasing lists that are in both.
func intersect(a, b []int32) []int32 {
	var out []int32
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// slotMatch is how a query matches one slot.
type slotMatch struct {
	quality [maxSearchGroups]float64
	// units flags the slot's units the query matched.
	matchedUnits int
	exact        bool
}

// matchSlot works out how the query matches a slot, noting the units it matched in unitHit
// when that is not nil.
func (ix *searchIndex) matchSlot(q *query, s *searchScratch, sl *searchSlot, unitHit []bool) slotMatch {
	var m slotMatch
	var bigramHits [maxSearchGroups]int
	hit := func(i int) {
		if unitHit != nil {
			unitHit[i] = true
		}
	}
	for i, u := range sl.units {
		if k := s.match[u]; k >= 0 {
			for _, e := range q.matches[k] {
				if e.kind == matchesWord && !q.groups[e.group].dropped {
					m.quality[e.group] = max(m.quality[e.group], e.quality)
					hit(i)
				}
			}
		}
		if p := sl.pairs[i]; p >= 0 {
			if k := s.match[p]; k >= 0 {
				for _, e := range q.matches[k] {
					if e.kind == matchesBigram && !q.groups[e.group].dropped {
						bigramHits[e.group]++
						hit(i)
						hit(i + 1)
					}
				}
			}
		}
	}
	for gi := range q.groups {
		if g := &q.groups[gi]; g.cjk() && len(g.bigrams) > 0 && !g.dropped {
			m.quality[gi] = min(1, float64(bigramHits[gi])/float64(len(g.bigrams)))
		}
	}
	if unitHit != nil {
		for _, h := range unitHit {
			if h {
				m.matchedUnits++
			}
		}
	}
	m.exact = slices.Equal(sl.units, q.spelled)
	return m
}

// score is how well a document matches a query (see the comment at the top).
func (ix *searchIndex) score(q *query, s *searchScratch, d *searchDoc) float64 {
	var best [maxSearchGroups]float64
	coverage, exact := 0.0, 0.0
	unitHit := make([]bool, 0, 64)
	for i := range d.slots {
		sl := &d.slots[i]
		unitHit = unitHit[:0]
		for range sl.units {
			unitHit = append(unitHit, false)
		}
		m := ix.matchSlot(q, s, sl, unitHit)
		w := fieldWeight(sl.field)
		for gi := range q.groups {
			best[gi] = max(best[gi], w*m.quality[gi])
		}
		share := float64(m.matchedUnits) / float64(len(sl.units))
		coverage = max(coverage, w*share*share)
		if m.exact {
			exact = max(exact, 2*w)
		}
	}
	total := coverage + exact
	for gi, g := range q.groups {
		// Stop words may match, never rank: "gmv for the year" is not about descriptions
		// holding "for" and "the".
		if !g.optional {
			total += best[gi]
		}
	}
	return total
}

// matches returns the fields of a document the query matched, best first, with their spans.
func (ix *searchIndex) matches(q *query, s *searchScratch, d *searchDoc) []SearchMatch {
	type ranked struct {
		m     SearchMatch
		score float64
	}
	var out []ranked
	for i := range d.slots {
		sl := &d.slots[i]
		unitHit := make([]bool, len(sl.units))
		m := ix.matchSlot(q, s, sl, unitHit)
		if m.matchedUnits == 0 {
			continue
		}
		units := analyzeText(sl.text)
		var spans []TextSpan
		for j, u := range units {
			if j >= len(unitHit) || !unitHit[j] {
				continue
			}
			if n := len(spans); n > 0 && spans[n-1].End == u.start && u.cjk && units[j-1].cjk {
				spans[n-1].End = u.end
				continue
			}
			spans = append(spans, TextSpan{Start: u.start, End: u.end})
		}
		share := float64(m.matchedUnits) / float64(len(sl.units))
		out = append(out, ranked{SearchMatch{Field: sl.field, Text: sl.text, Spans: spans}, fieldWeight(sl.field) * share})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	res := make([]SearchMatch, len(out))
	for i, r := range out {
		res[i] = r.m
	}
	return res
}
