package customers

import (
	"context"
	"fmt"
	"slices"

	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
)

// TokenRules is the version of the rules SearchTokens derives a customer's
// search tokens by. A store records the version its tokens were derived by;
// when it is older, Reindex derives every customer's tokens again (the server
// does so as it starts). Raise it with every change to SearchTokens, Fold,
// NameTokens, DeviceTokens or PhoneTokens that changes a token.
//
//  1. names, email, phone, external id.
//  2. full case folding, names as written with dashes, transliterations,
//     devices' serial numbers and MAC addresses, the customer's id.
//  3. serial numbers without their punctuation too.
//  4. a phone number's national number backwards (found by its last digits
//     through TermForms) and its subscriber number instead of its every
//     tail; serial numbers and MAC addresses without their punctuation only
//     (TermForms drops a term's).
//  5. not the customer's id (every id begins with the digits of its creation
//     time, so "01" found every customer); a search for an id reads the
//     customer by it (Service.Search).
//  6. a phone number the phone library does not read as a possible number
//     of its region (a UK mobile in a US domain written without +44) has its
//     digits backwards too, so that its last digits find it as a possible
//     number's do.
//  7. a phone number's tokens begin with a marker ("@p", "@rev"), which
//     keeps their nearly unique digits out of most of the SQLite store's
//     prefix indexes (a fifth of its search index).
//  8. an email address without its "+tag" too; a Chinese, Japanese or
//     Korean name written together, family name first; a phone number
//     written with an international prefix its region does not dial
//     ("0044 ..." in the US) read as the number after it.
const TokenRules = 8

// ReindexStore is what Reindex needs from storage.
type ReindexStore interface {
	// Domains returns every domain.
	Domains(ctx context.Context) ([]domains.Domain, error)
	// SearchTokenRules returns the TokenRules the indexed tokens were derived
	// by (0 for a store that never recorded one).
	SearchTokenRules(ctx context.Context) (int, error)
	// SetSearchTokenRules records the rules the indexed tokens are derived by.
	SetSearchTokenRules(ctx context.Context, rules int) error
	// CustomersAfter returns up to limit customers of the domain whose ids
	// follow afterID, in id order.
	CustomersAfter(ctx context.Context, domainID, afterID string, limit int) ([]Customer, error)
	// DevicesOfCustomers returns the devices of the customers ids.
	DevicesOfCustomers(ctx context.Context, ids []string) ([]devices.Device, error)
	// KeepsSearchTokens reports whether the store keeps each customer's
	// tokens as ReplaceSearchTokens sets them. A store that keeps none (the
	// embedded one) reads back none and derives every customer's again in
	// RebuildSearchIndex.
	KeepsSearchTokens() bool
	// ReplaceSearchTokens sets the search tokens of the customers named by
	// the keys of tokens, and nothing else about them (not their version);
	// searches may find them only after RebuildSearchIndex.
	ReplaceSearchTokens(ctx context.Context, tokens map[string][]string) error
	// RebuildSearchIndex makes the search index hold every customer's
	// tokens: as ReplaceSearchTokens set them, or derived again by a store
	// that keeps none.
	RebuildSearchIndex(ctx context.Context) error
	// ReplaceVocabulary sets the domain's vocabulary (see SuggestStore):
	// each name token with how many customers hold it.
	ReplaceVocabulary(ctx context.Context, domainID string, counts map[string]int) error
}

// reindexBatch is how many customers Reindex reads and writes at a time.
const reindexBatch = 1000

// Reindex derives the search tokens of every customer of the store again when
// they were derived by rules older than TokenRules, writing only those that
// change, reindexBatch at a time, counts each domain's vocabulary of name
// tokens anew, rebuilds the search index, and then records TokenRules. A
// store that keeps no tokens (KeepsSearchTokens) derives them all in
// RebuildSearchIndex: Reindex only counts the vocabulary, and every customer
// counts as changed. progress, if not nil, is told how many customers were
// read so far. It returns how many customers' tokens changed. Safe to
// interrupt: the next call starts over.
func Reindex(ctx context.Context, st ReindexStore, progress func(read int)) (int, error) {
	rules, err := st.SearchTokenRules(ctx)
	if err != nil || rules >= TokenRules {
		return 0, err
	}
	keeps := st.KeepsSearchTokens()
	ds, err := st.Domains(ctx)
	if err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	read, changed := 0, 0
	for _, d := range ds {
		vocabulary := map[string]int{}
		for after := ""; ; {
			cs, err := st.CustomersAfter(ctx, d.ID, after, reindexBatch)
			if err != nil {
				return changed, fmt.Errorf("reindex: %w", err)
			}
			if len(cs) == 0 {
				break
			}
			for _, c := range cs {
				for _, t := range NameTokens(c.FirstName, c.LastName) {
					vocabulary[t]++
				}
			}
			n := len(cs) // a store that keeps no tokens derives them all in RebuildSearchIndex
			if keeps {
				if n, err = replaceChangedTokens(ctx, st, d, cs); err != nil {
					return changed, fmt.Errorf("reindex: %w", err)
				}
			}
			changed += n
			read += len(cs)
			if progress != nil {
				progress(read)
			}
			after = cs[len(cs)-1].ID
		}
		if err := st.ReplaceVocabulary(ctx, d.ID, vocabulary); err != nil {
			return changed, fmt.Errorf("reindex: %w", err)
		}
	}
	if err := st.RebuildSearchIndex(ctx); err != nil {
		return changed, fmt.Errorf("reindex: %w", err)
	}
	return changed, st.SetSearchTokenRules(ctx, TokenRules)
}

// replaceChangedTokens derives the tokens of cs, customers of d, and
// replaces those that differ from the ones stored; it returns how many.
func replaceChangedTokens(ctx context.Context, st ReindexStore, d domains.Domain, cs []Customer) (int, error) {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	devs, err := st.DevicesOfCustomers(ctx, ids)
	if err != nil {
		return 0, err
	}
	byCustomer := map[string][]devices.Device{}
	for _, dev := range devs {
		byCustomer[dev.CustomerID] = append(byCustomer[dev.CustomerID], dev)
	}
	tokens := map[string][]string{}
	for _, c := range cs {
		if t := SearchTokens(c, byCustomer[c.ID], d.DefaultRegion); !slices.Equal(t, c.SearchTokens) {
			tokens[c.ID] = t
		}
	}
	if len(tokens) == 0 {
		return 0, nil
	}
	return len(tokens), st.ReplaceSearchTokens(ctx, tokens)
}
