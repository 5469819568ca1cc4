package passwords

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/match"
)

// feedback returns a warning and suggestions for a password zxcvbn rates
// below MinScore, from its weakest reading (sequence): Dropbox's zxcvbn
// 4.4.2 feedback (src/feedback.coffee, MIT licence, the same sentences),
// which github.com/trustelem/zxcvbn does not port. As there, it speaks of
// the reading's longest part; unlike there, it also speaks for score 2,
// which the policy refuses (MinScore), and of context words.
func feedback(sequence []*match.Match) (string, []string) {
	if len(sequence) == 0 {
		return "", []string{"Use a few words, avoid common phrases.", "No need for symbols, digits, or uppercase letters."}
	}
	longest := sequence[0]
	for _, m := range sequence[1:] {
		if utf8.RuneCountInString(m.Token) > utf8.RuneCountInString(longest.Token) {
			longest = m
		}
	}
	warning, suggestions := matchFeedback(longest, len(sequence) == 1)
	return warning, append([]string{suggestMore}, suggestions...)
}

// matchFeedback is feedback.coffee's get_match_feedback.
func matchFeedback(m *match.Match, sole bool) (string, []string) {
	switch m.Pattern {
	case "dictionary":
		return dictionaryFeedback(m, sole)
	case "spatial":
		if m.Turns == 1 {
			return "Straight rows of keys are easy to guess", []string{"Use a longer keyboard pattern with more turns."}
		}
		return "Short keyboard patterns are easy to guess", []string{"Use a longer keyboard pattern with more turns."}
	case "repeat":
		if utf8.RuneCountInString(m.BaseToken) == 1 {
			return `Repeats like "aaa" are easy to guess`, []string{suggestRepeats}
		}
		return `Repeats like "abcabcabc" are only slightly harder to guess than "abc"`, []string{suggestRepeats}
	case "sequence":
		return "Sequences like abc or 6543 are easy to guess", []string{"Avoid sequences."}
	case "regex":
		if m.RegexName == "recent_year" {
			return "Recent years are easy to guess", []string{"Avoid recent years.", "Avoid years that are associated with you."}
		}
	case "date":
		return "Dates are often easy to guess", []string{"Avoid dates and years that are associated with you."}
	}
	return "", nil
}

// dictionaryFeedback is feedback.coffee's get_dictionary_match_feedback,
// plus the context words (zxcvbn's user inputs).
func dictionaryFeedback(m *match.Match, sole bool) (string, []string) {
	var warning string
	switch m.DictionaryName {
	case "passwords":
		switch {
		case sole && !m.L33t && !m.Reversed && m.Rank <= 10:
			warning = "This is a top-10 common password"
		case sole && !m.L33t && !m.Reversed && m.Rank <= 100:
			warning = "This is a top-100 common password"
		case sole && !m.L33t && !m.Reversed:
			warning = "This is a very common password"
		case m.Guesses <= 1e4:
			warning = "This is similar to a commonly used password"
		}
	case "english_wikipedia":
		if sole {
			warning = "A word by itself is easy to guess"
		}
	case "surnames", "male_names", "female_names":
		warning = "Common names and surnames are easy to guess"
		if sole {
			warning = "Names and surnames by themselves are easy to guess"
		}
	case "user_inputs":
		// No warning: CONTEXT_WORD's message says it (it was said twice).
	}
	var suggestions []string
	first, size := utf8.DecodeRuneInString(m.Token)
	switch {
	case unicode.IsUpper(first) && strings.ToLower(m.Token[size:]) == m.Token[size:]:
		suggestions = append(suggestions, "Capitalization doesn't help very much.")
	case strings.ToUpper(m.Token) == m.Token && strings.ToLower(m.Token) != m.Token:
		suggestions = append(suggestions, "All-uppercase is almost as easy to guess as all-lowercase.")
	}
	if m.Reversed && utf8.RuneCountInString(m.Token) >= 4 {
		suggestions = append(suggestions, "Reversed words aren't much harder to guess.")
	}
	if m.L33t {
		suggestions = append(suggestions, "Predictable substitutions like '@' instead of 'a' don't help very much.")
	}
	return warning, suggestions
}
