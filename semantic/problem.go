package semantic

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a set of definitions, at the place in a file where it is.
type Problem struct {
	Pos     Pos
	Message string
	// Hint says how the problem might be fixed ("did you mean amount?"); it may be empty.
	Hint string
}

// String returns "file:line:col: message (hint: …)".
func (p Problem) String() string {
	s := p.Pos.String() + ": " + p.Message
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

// Problems is every problem found in a set of definitions, sorted by file, line and column. The
// loaders return it as their error; use errors.As to get at the individual problems.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by position, keeping the order they were found in at one position.
func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool { return posBefore(ps[i].Pos, ps[j].Pos) })
}

// posBefore reports whether a comes before b: by file, line and column.
func posBefore(a, b Pos) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

// closest returns the candidate nearest to word, or "" when none is near enough to be what the
// author meant.
func closest(word string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		if strings.EqualFold(c, word) {
			return c
		}
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	n := utf8.RuneCountInString(word)
	if best == "" || bestDist >= n || bestDist > max(1, n/3) {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b: the number of
// insertions, deletions, substitutions and swaps of adjacent characters that turn one into the
// other. A swap counts once, since "lable" is a typo for "label", not two.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// suggestion is a hint for a name that is not one of candidates: the nearest candidate when one
// is near, else the list of candidates introduced by what ("the columns of orders are").
func suggestion(word string, candidates []string, what string) string {
	if c := closest(word, candidates); c != "" {
		return "did you mean " + c + "?"
	}
	if len(candidates) == 0 {
		return ""
	}
	const limit = 30
	list := candidates
	more := ""
	if len(list) > limit {
		list, more = list[:limit], ", …"
	}
	return what + ": " + strings.Join(list, ", ") + more
}
