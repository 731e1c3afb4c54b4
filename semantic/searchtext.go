package semantic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// How the catalog's search reads text. Latin text is read as words: runs of letters and digits,
// lower-cased, split at spaces, punctuation and underscores ("gmv_paid" is gmv and paid), with
// full-width forms folded to ASCII and plurals to their singular ("orders" is order), so that a
// query matches the way a name or a label is written. Chinese, Japanese and Korean text has no
// spaces between words, so it is read character by character: each character is a unit, and each
// pair of neighbouring characters a bigram. A query's run of characters matches a text holding
// all of its bigrams — "下单金额" the synonym "下单金额" and the label "下单金额90分位" — without a
// dictionary of words, which a catalog's coinages ("客单价", "已支付口径GMV") would defeat.

// textUnit is one unit of analysed text: a Latin word, or one CJK character. start and end are
// its place in the text, counted in characters (Unicode code points), end exclusive.
type textUnit struct {
	text       string
	cjk        bool
	start, end int
	// run numbers the runs of CJK characters of the text; neighbouring characters of one run
	// form a bigram.
	run int
}

// analyzeText splits text into units, in order.
func analyzeText(text string) []textUnit {
	var out []textUnit
	var word strings.Builder
	wordStart, pos, run := 0, 0, 0
	prevCJK := false
	flush := func() {
		if word.Len() > 0 {
			out = append(out, textUnit{text: singular(word.String()), start: wordStart, end: pos})
			word.Reset()
		}
	}
	for _, r := range text {
		r = foldWidth(r)
		switch {
		case cjkSeparator(r):
			flush()
			prevCJK = false
		case isCJK(r):
			flush()
			if !prevCJK {
				run++
			}
			out = append(out, textUnit{text: string(r), cjk: true, start: pos, end: pos + 1, run: run})
			prevCJK = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if word.Len() == 0 {
				wordStart = pos
			}
			word.WriteRune(unicode.ToLower(r))
			prevCJK = false
		default:
			flush()
			prevCJK = false
		}
		pos++
	}
	flush()
	return out
}

// isCJK reports whether r is written without spaces between words: Han, kana and Hangul.
func isCJK(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r))
}

// cjkSeparator reports whether a CJK character only joins words ("支付的金额" is 支付 and 金额),
// so that it breaks a run rather than making bigrams no text would hold.
func cjkSeparator(r rune) bool { return r == '的' }

// foldWidth turns full-width ASCII forms ("ＧＭＶ", typed with a Chinese input method) and the
// ideographic space into their ASCII forms.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// singular folds an English plural to its singular, crudely but the same way for what is
// searched and what is searched for: "orders" and "order" match, "categories" and "category".
// Words ending in ss, us or is ("gross", "status", "analysis") are left alone, as are short ones.
func singular(w string) string {
	n := len(w)
	switch {
	case n < 4 || w[n-1] != 's':
		return w
	case strings.HasSuffix(w, "ies") && n > 4:
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	}
	return w[:n-1]
}

// stopWords are English words a query may hold without requiring them: "revenue per buyer"
// finds revenue_per_buyer, and "average value of orders" what mentions average, value and
// orders. Where a text has them, they still count towards how well it matches.
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "at": true, "by": true, "for": true, "from": true, "in": true,
	"is": true, "of": true, "on": true, "or": true, "per": true, "the": true, "to": true, "with": true,
}

// cjkBigram returns the bigram of two CJK characters as the index keeps it.
func cjkBigram(a, b string) string { return a + b }

// letters returns the number of characters of a word.
func letters(w string) int { return utf8.RuneCountInString(w) }

// deletions returns w with each one of its characters left out, each variant once: the keys of
// the symmetric-delete index that finds words one typo away.
func deletions(w string) []string {
	rs := []rune(w)
	out := make([]string, 0, len(rs))
	var b strings.Builder
	for i := range rs {
		b.Reset()
		for j, r := range rs {
			if j != i {
				b.WriteRune(r)
			}
		}
		v := b.String()
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}
