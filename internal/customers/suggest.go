package customers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
)

// Suggestions: when a search finds nothing, the queries near it that find something.
const (
	// MaxSuggestions is how many queries Suggest offers at most.
	MaxSuggestions = 3
	// MaxSuggestionEdits is the Levenshtein distance (insertions, deletions,
	// substitutions) within which a name of the vocabulary may replace a term:
	// "shmidt" is 1 from "schmidt", "jonh" 2 from "john".
	MaxSuggestionEdits = 2
	// minSuggestedTerm is the shortest term a suggestion replaces: shorter
	// ones are within two edits of too much.
	minSuggestedTerm = 3
)

// VocabularyToken is a name token of a domain and how many customers hold it.
type VocabularyToken struct {
	Token     string
	Customers int
}

// SuggestStore is what suggestions need from storage: each domain's
// vocabulary of name tokens (NameTokens), which stores keep counted as they
// write, rename and erase customers.
type SuggestStore interface {
	// Vocabulary returns the domain's name tokens of minLength to maxLength
	// characters.
	Vocabulary(ctx context.Context, domainID string, minLength, maxLength int) ([]VocabularyToken, error)
}

// Suggest returns up to MaxSuggestions queries near text for a search of the
// domain that found nothing: each term of at least minSuggestedTerm
// characters that is not the prefix of a name of the vocabulary is replaced
// by the names within MaxSuggestionEdits of it (closest first, then the names
// most customers hold), and only queries that find a customer (with status)
// are offered. Phone numbers and emails get none. It reads the vocabulary
// once per term, never the customers but for checking the suggestions.
func (s *Service) Suggest(ctx context.Context, domainID, text string, status Status) ([]string, error) {
	q, err := s.query(ctx, domainID, text, status)
	if _, phone := phoneQuery(text); err != nil || len(q.Terms) == 0 || phone {
		return nil, err
	}
	// For each term, what may stand in its place: itself, or its near names.
	options := make([][]string, len(q.Terms))
	replaced := false
	for i, term := range q.Terms {
		options[i] = []string{term}
		n := utf8.RuneCountInString(term)
		if n < minSuggestedTerm || strings.ContainsAny(term, "@.0123456789") {
			continue
		}
		// A suggestion is at least as long as the shortest term replaced:
		// "o" is two edits from "not" but stands for no word typed.
		vocabulary, err := s.store.Vocabulary(ctx, domainID, max(n-MaxSuggestionEdits, minSuggestedTerm), n+MaxSuggestionEdits)
		if err != nil {
			return nil, fmt.Errorf("suggest: %w", err)
		}
		type near struct {
			VocabularyToken
			edits int
		}
		var nears []near
		known := false
		for _, v := range vocabulary {
			if strings.HasPrefix(v.Token, term) {
				known = true
				break
			}
			if d := levenshtein.ComputeDistance(term, v.Token); d <= MaxSuggestionEdits {
				nears = append(nears, near{v, d})
			}
		}
		if known || len(nears) == 0 {
			continue
		}
		slices.SortFunc(nears, func(a, b near) int {
			return cmp.Or(cmp.Compare(a.edits, b.edits), cmp.Compare(b.Customers, a.Customers), strings.Compare(a.Token, b.Token))
		})
		options[i] = nil
		for _, n := range nears[:min(len(nears), MaxSuggestions)] {
			options[i] = append(options[i], n.Token)
		}
		replaced = true
	}
	if !replaced {
		return nil, nil
	}
	// The k-th suggestion takes each term's k-th option (or its last).
	var out []string
	for k := range MaxSuggestions {
		terms := make([]string, len(options))
		for i, o := range options {
			terms[i] = o[min(k, len(o)-1)]
		}
		candidate := strings.Join(terms, " ")
		if slices.Contains(out, candidate) {
			continue
		}
		finds, err := s.findsAny(ctx, SearchQuery{DomainID: domainID, Terms: terms, Status: status, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("suggest: %w", err)
		}
		if finds {
			out = append(out, candidate)
		}
	}
	return out, nil
}

// findsAny reports whether q finds a customer in either tier.
func (s *Service) findsAny(ctx context.Context, q SearchQuery) (bool, error) {
	for _, exact := range []bool{true, false} {
		q.Exact = exact
		hits, err := s.store.SearchCustomers(ctx, q)
		if err != nil || len(hits) > 0 {
			return len(hits) > 0, err
		}
	}
	return false, nil
}
