package passwords

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gosimple/slug"
	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// brailleBlank is U+2800 BRAILLE PATTERN BLANK: a letter-like symbol (So)
// that shows as nothing, the usual way to put a "blank" in a name field.
const brailleBlank = '\u2800'

// ignorable reports whether r is a Default_Ignorable_Code_Point of Unicode
// (DerivedCoreProperties.txt: Other_Default_Ignorable_Code_Point, format
// characters Cf and variation selectors; the Hangul fillers U+115F, U+1160,
// U+3164 and U+FFA0 and the zero-width characters among them): characters
// that show as nothing.
func ignorable(r rune) bool {
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Cf, unicode.Variation_Selector)
}

// blank reports whether s looks empty: only white space (Unicode White_Space,
// the separators Z), controls (Cc), default-ignorable code points (ignorable)
// and U+2800 BRAILLE PATTERN BLANK.
func blank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsSpace(r) && !unicode.In(r, unicode.Z, unicode.Cc) && !ignorable(r) && r != brailleBlank
	}) < 0
}

// visible returns s NFC-normalized and without its default-ignorable code
// points (ignorable): what a person sees ("pass\u200bword" is "password").
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if ignorable(r) {
			return -1
		}
		return r
	}, norm.NFC.String(strings.ToValidUTF8(s, "")))
}

// lookalikes returns s with each non-ASCII letter that Unicode's
// confusables (UTS #39 skeletons, github.com/mtibben/confusables) make look
// like one ASCII letter or digit spelled as that character: what the
// estimator rates (Cyrillic "раss" is "pass"). ASCII characters are kept as
// they are (the skeleton of "1" is "l", which the estimator's own l33t
// tables already cover).
func lookalikes(s string) string {
	if isASCII(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= utf8.RuneSelf && unicode.IsLetter(r) {
			if sk := confusables.Skeleton(string(r)); len(sk) == 1 && sk[0] < utf8.RuneSelf && isAlnum(rune(sk[0])) {
				if unicode.IsUpper(r) {
					sk = strings.ToUpper(sk)
				}
				b.WriteString(sk)
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// undecomposable spells out the Latin letters that carry their mark inside
// the letter, so no Unicode decomposition strips it (the same table as
// customers.Fold, which this package cannot import: customers imports it).
var undecomposable = strings.NewReplacer(
	"ł", "l", "ø", "o", "đ", "d", "ħ", "h", "ı", "i", "ŧ", "t", "ß", "ss", "æ", "ae", "œ", "oe", "þ", "th", "ð", "d",
)

// fold returns s compatibility-decomposed, without combining marks, fully
// case-folded (Unicode CaseFolding.txt via golang.org/x/text/cases) and with
// the Latin letters of undecomposable spelled plainly: "Brzęczyszczykiewicz"
// is "brzeczyszczykiewicz", "GRÖSSE" and "Größe" are "grosse". It is
// customers.Fold, the form search compares names in.
func fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC, cases.Fold())
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = strings.ToLower(s)
	}
	return undecomposable.Replace(folded)
}

// leet maps the common l33t substitutions to the letter they stand for
// (zxcvbn's l33t table, the unambiguous part): 4 and @ a, 3 e, 0 o, 5 and $
// s, 7 t, ! i, | l. "1" stands for i or l: see compactForms.
var leet = map[rune]rune{'4': 'a', '@': 'a', '3': 'e', '0': 'o', '5': 's', '$': 's', '7': 't', '!': 'i', '|': 'l'}

// compactRune is one character of a compact form and the span of the
// original string it comes from.
type compactRune struct {
	r          rune
	start, end int // byte offsets in the original
}

// compactForms returns s in the forms context words are looked for in,
// each character with the span of s it comes from: folded (fold), l33t
// mapped (leet; "1" as "i" in the first form and as "l" in the second) and
// without separators (anything but letters and digits after that): for
// "D3m0_H34t1ng" "demoheating" and "demoheatlng".
func compactForms(s string) [2][]compactRune {
	var out [2][]compactRune
	for i, r := range s {
		end := i + utf8.RuneLen(r)
		for _, f := range fold(string(r)) {
			for k, one := range [2]rune{'i', 'l'} {
				m := f
				if l, ok := leet[f]; ok {
					m = l
				} else if f == '1' {
					m = one
				}
				if isAlnum(m) {
					out[k] = append(out[k], compactRune{m, i, end})
				}
			}
		}
	}
	return out
}

// compactWord returns w as compactForms' first form spells it (for a
// context word: its folded, l33t-mapped letters and digits).
func compactWord(w string) string {
	var b strings.Builder
	for _, c := range compactForms(w)[0] {
		b.WriteRune(c.r)
	}
	return b.String()
}

// transliterations returns w's customary Latin spellings (gosimple/slug's
// tables: its default, which spells other scripts in Latin letters, German
// and Norwegian, as customers.Transliterations), for a w that is not ASCII:
// "Ольга" gives "olga", "Jürgen Größe" "juergengroesse".
func transliterations(w string) []string {
	if isASCII(w) {
		return nil
	}
	var out []string
	for _, word := range append(strings.Fields(w), w) {
		for _, lang := range []string{"", "de", "nb"} {
			spelt := slug.MakeLang(word, lang)
			if lang == "" {
				spelt = slug.Make(word)
			}
			// slug separates at every character it does not spell ("ol-ga"
			// for "Ольга"): the word is all of its parts joined.
			out = append(out, strings.ReplaceAll(spelt, "-", ""))
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
