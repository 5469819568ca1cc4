package customers

import (
	"context"
	"errors"
	"fmt"

	"github.com/iotconsole/bff/internal/apperr"
)

// Service reads and changes customers, always within one domain.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// Get returns customer id of domainID. It returns apperr.ErrNotFound when the
// customer does not exist or belongs to another domain: the two look the same
// from outside, so nobody learns what other domains hold.
func (s *Service) Get(ctx context.Context, domainID, id string) (Customer, error) {
	c, err := s.store.CustomerByID(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && c.DomainID != domainID) {
		return Customer{}, fmt.Errorf("customer %s: %w", id, apperr.ErrNotFound)
	}
	return c, err
}

// Page is one page of search hits.
type Page struct {
	Hits    []Hit
	HasNext bool
}

// Search returns one page of the domain's customers matching req.Text (see
// ParseQuery for the rules), exact matches first, then by last name, first
// name and id. It returns a *apperr.ValidationError for a page size outside 1
// to MaxPageSize or text over the limits.
func (s *Service) Search(ctx context.Context, domainID string, req SearchRequest) (Page, error) {
	q, err := s.query(domainID, req.Text, req.Status)
	if err != nil {
		return Page{}, err
	}
	if req.First < 1 || req.First > MaxPageSize {
		return Page{}, apperr.Invalid("first", "INVALID", fmt.Sprintf("first must be between 1 and %d", MaxPageSize))
	}
	limit := req.First + 1 // one more tells whether there is a next page
	var hits []Hit
	if len(q.Terms) > 0 && (req.After == nil || req.After.Exact) {
		exact := q
		exact.Exact, exact.After, exact.Limit = true, req.After, limit
		if hits, err = s.store.SearchCustomers(ctx, exact); err != nil {
			return Page{}, fmt.Errorf("search customers: %w", err)
		}
	}
	if len(hits) < limit {
		rest := q
		rest.Limit = limit - len(hits)
		if req.After != nil && !req.After.Exact {
			rest.After = req.After
		}
		more, err := s.store.SearchCustomers(ctx, rest)
		if err != nil {
			return Page{}, fmt.Errorf("search customers: %w", err)
		}
		hits = append(hits, more...)
	}
	page := Page{Hits: hits, HasNext: len(hits) > req.First}
	if page.HasNext {
		page.Hits = hits[:req.First]
	}
	return page, nil
}

// Count returns how many of the domain's customers match text and status.
func (s *Service) Count(ctx context.Context, domainID, text string, status Status) (int64, error) {
	q, err := s.query(domainID, text, status)
	if err != nil {
		return 0, err
	}
	n, err := s.store.CountCustomerMatches(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}

func (s *Service) query(domainID, text string, status Status) (SearchQuery, error) {
	terms, err := ParseQuery(text)
	if err != nil {
		return SearchQuery{}, err
	}
	if status != "" && status != StatusActive && status != StatusDisabled {
		return SearchQuery{}, apperr.Invalid("status", "INVALID", "status must be ACTIVE or DISABLED")
	}
	return SearchQuery{DomainID: domainID, Terms: terms, Status: status}, nil
}
