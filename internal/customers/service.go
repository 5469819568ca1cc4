package customers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/throttle"
)

// Service reads, creates and changes customers, always within one domain.
type Service struct {
	store   Store
	hasher  *passwords.Hasher
	policy  passwords.Policy
	now     func() time.Time
	signUps *throttle.Limiter // sign-up attempts per client address
	guesses *throttle.Limiter // look-ups of companies that do not exist, per client address (CompanyName)
	// ownEdits is each customer's budget of corrections of its own profile
	// (UpdateProfile by the customer), in this process.
	ownEdits *throttle.Bucket
	// searchCache holds recent search pages; nil when the store keeps no
	// search versions (see SearchVersions).
	searchCache *searchCache
}

// NewService returns a Service over store; new passwords are hashed by
// hasher and must pass policy.
func NewService(store Store, hasher *passwords.Hasher, policy passwords.Policy, now func() time.Time) *Service {
	s := &Service{store: store, hasher: hasher, policy: policy, now: now,
		signUps:  throttle.New(freeSignUpsPerClient, signUpBackoff, signUpBackoffMax, now),
		guesses:  throttle.New(freeSignUpsPerClient, signUpBackoff, signUpBackoffMax, now),
		ownEdits: throttle.NewBucket(throttle.NewMemory(), ownEditsBurst, ownEditsRefill, now)}
	s.SetSearchCachePages(DefaultSearchCachePages)
	return s
}

// PersonalWords returns what a customer's password must not be: the email,
// its local part and the names.
func PersonalWords(c Customer) []string {
	local, _, _ := strings.Cut(c.Email, "@")
	return []string{c.Email, local, c.FirstName, c.LastName, c.FirstName + " " + c.LastName, c.FirstName + c.LastName}
}

// PasswordContext returns the context words of c's password (see
// passwords.Context): its PersonalWords and d's display name and slug.
func PasswordContext(c Customer, d domains.Domain) passwords.Context {
	return passwords.Context{Account: PersonalWords(c), Domain: []string{d.Name, d.Slug}}
}

// AuditRecord returns the audit record of action on customer id by actor.
func AuditRecord(actor audit.Actor, action, customerID, reason string, at time.Time, requestID string) audit.Record {
	r := actor.Record(action, audit.TargetCustomer, customerID, reason)
	r.ID, r.At, r.RequestID = ids.New(), at, requestID
	return r
}

// maxUpdateAttempts bounds retries when another change wins the race for a
// customer's version.
const maxUpdateAttempts = 3

// update reads customer id of domainID, lets decide build the change from it
// and applies it, reading again and retrying when another change got there
// first. decide may return a nil *Update to change nothing.
func (s *Service) update(ctx context.Context, domainID, id string, decide func(c Customer) (*Update, error)) (Customer, bool, error) {
	for attempt := 1; ; attempt++ {
		c, err := s.Get(ctx, domainID, id)
		if err != nil {
			return Customer{}, false, err
		}
		u, err := decide(c)
		if err != nil || u == nil {
			return c, false, err
		}
		u.ID, u.Version = c.ID, c.Version
		updated, err := s.store.UpdateCustomer(ctx, *u)
		if errors.Is(err, apperr.ErrConflict) && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return Customer{}, false, err
		}
		return updated, true, nil
	}
}

// ResetPassword sets a customer's password for an operator: it takes effect at
// once, ends every session of the customer (assist sessions included) and is
// audited with a PASSWORD_RESET event, all in one write. With
// requireChange, the next sign-in may only change the password. Mismatched
// or unacceptable passwords are *apperr.ValidationError and change nothing.
func (s *Service) ResetPassword(ctx context.Context, actor audit.Actor, id, password, confirmation string, requireChange bool) (Customer, error) {
	if err := ConfirmPassword(password, confirmation); err != nil {
		return Customer{}, err
	}
	d, err := s.store.DomainByID(ctx, actor.DomainID)
	if err != nil {
		return Customer{}, err
	}
	policy := s.policy.ForDomain(d.PasswordMinLength)
	var hash string
	c, _, err := s.update(ctx, actor.DomainID, id, func(c Customer) (*Update, error) {
		if err := policy.Check("newPassword", password, PasswordContext(c, d)); err != nil {
			return nil, err
		}
		if hash == "" {
			var err error
			if hash, err = s.hasher.Hash(ctx, password); err != nil {
				return nil, err
			}
		}
		at := s.now()
		return &Update{
			PasswordHash: &hash, MustChangePassword: &requireChange, EndSessions: true, At: at,
			Audit: AuditRecord(actor, audit.ActionPasswordReset, c.ID, "", at, audit.RequestID(ctx)),
			Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.PasswordReset, CustomerID: c.ID, ActorID: actor.ID,
				Data: map[string]string{events.KeyRequireChange: fmt.Sprint(requireChange), events.KeyEpoch: fmt.Sprint(c.SessionEpoch + 1)}, OccurredAt: at}},
		}, nil
	})
	return c, err
}

// SetStatus disables or enables a customer's account for an operator.
// Disabling ends every session at once. Setting the status it already has
// changes nothing and writes nothing: the bool result says whether it changed.
// A reason (see names.Reason) is required to disable.
func (s *Service) SetStatus(ctx context.Context, actor audit.Actor, id string, status Status, reason string) (Customer, bool, error) {
	reason, err := names.Reason("reason", reason)
	switch {
	case status != StatusActive && status != StatusDisabled:
		return Customer{}, false, apperr.Invalid("status", "INVALID", "status must be ACTIVE or DISABLED")
	case err != nil:
		return Customer{}, false, err
	case status == StatusDisabled && reason == "":
		return Customer{}, false, apperr.Invalid("reason", "REQUIRED", "Say why the account is disabled.")
	}
	return s.update(ctx, actor.DomainID, id, func(c Customer) (*Update, error) {
		if c.Status == status {
			return nil, nil
		}
		at, action := s.now(), audit.ActionUserEnabled
		if status == StatusDisabled {
			action = audit.ActionUserDisabled
		}
		data := map[string]string{events.KeyPreviousStatus: string(c.Status), events.KeyStatus: string(status), events.KeyReason: reason}
		if status == StatusDisabled {
			data[events.KeyEpoch] = fmt.Sprint(c.SessionEpoch + 1)
		}
		return &Update{
			Status: &status, EndSessions: status == StatusDisabled, At: at,
			Audit: AuditRecord(actor, action, c.ID, reason, at, audit.RequestID(ctx)),
			Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.StatusChanged, CustomerID: c.ID, ActorID: actor.ID,
				Data: data, OccurredAt: at}},
		}, nil
	})
}

// Get returns customer id of domainID. It returns apperr.ErrNotFound when the
// customer does not exist or belongs to another domain: the two look the same
// from outside, so nobody learns what other domains hold.
func (s *Service) Get(ctx context.Context, domainID, id string) (Customer, error) {
	c, err := s.store.CustomerByID(ctx, id)
	if err := domains.Owned("customer", id, c.DomainID, domainID, err); err != nil {
		return Customer{}, err
	}
	return c, nil
}

// GetMany returns the customers ids of domainID, read from the store at
// once. The batch answers each id as Get would: another domain's customer is
// dropped and answers apperr.ErrOtherDomain (which reads as
// apperr.ErrNotFound), an unknown id apperr.ErrNotFound. It returns an
// error only when the store fails.
func (s *Service) GetMany(ctx context.Context, domainID string, ids []string) (domains.Batch[Customer], error) {
	cs, err := s.store.CustomersByIDs(ctx, ids)
	if err != nil {
		return domains.Batch[Customer]{}, fmt.Errorf("customers: %w", err)
	}
	return domains.OwnedBatch("customer", domainID, cs, func(c Customer) (string, string) { return c.ID, c.DomainID }), nil
}

// Page is one page of search hits.
type Page struct {
	Hits    []Hit // their customers leave out PasswordHash and SearchTokens (SearchStore)
	HasNext bool
}

// Search returns one page of the domain's customers matching req.Text (see
// ParseQuery for the rules), exact matches first, then by last name, first
// name and id. It returns a *apperr.ValidationError for a page size outside 1
// to MaxPageSize or text over the limits. When the store keeps search
// versions (SearchVersions), pages are cached while the domain's version
// stays the same (see searchCache); the page returned is shared then, and
// callers must not change it.
func (s *Service) Search(ctx context.Context, domainID string, req SearchRequest) (Page, error) {
	q, err := s.query(ctx, domainID, req.Text, req.Status)
	if err != nil {
		return Page{}, err
	}
	if req.First < 1 || req.First > MaxPageSize {
		return Page{}, apperr.Invalid("first", "INVALID", fmt.Sprintf("first must be between 1 and %d", MaxPageSize))
	}
	if matchesNobody(q, req.Text) {
		return Page{}, nil
	}
	if id, ok := ownID(req.Text); ok {
		if page, found, err := s.byOwnID(ctx, q, id, req); found || err != nil {
			return page, err
		}
	}
	if s.searchCache == nil || req.First > MaxCachedPageSize {
		return s.searchPage(ctx, q, req)
	}
	key := newSearchKey(q, req)
	version, err := s.searchCache.version(ctx, domainID)
	if err != nil {
		return Page{}, err
	}
	if page, ok := s.searchCache.get(key, version); ok {
		return page, nil
	}
	page, err := s.searchPage(ctx, q, req)
	if err != nil {
		return Page{}, err
	}
	s.searchCache.put(key, version, page)
	return page, nil
}

// searchPage reads one page of q's customers from the store.
func (s *Service) searchPage(ctx context.Context, q SearchQuery, req SearchRequest) (Page, error) {
	domainID := q.DomainID
	limit := req.First + 1 // one more tells whether there is a next page
	var hits []Hit
	var err error
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
	if req.Matches && len(q.Terms) > 0 && len(page.Hits) > 0 {
		if err := s.addMatches(ctx, domainID, q.Terms, page.Hits); err != nil {
			return Page{}, err
		}
	}
	return page, nil
}

// ownID returns text as a customer's own id (ids.New's form: pasted from a
// link, the API or the audit log), which a search finds by a point read: the
// id is no search token, since every customer's id begins with the same
// digits of its creation time ("01" found every customer).
func ownID(text string) (string, bool) {
	id := strings.ToLower(strings.TrimSpace(text))
	return id, ids.IsNew(id)
}

// byOwnID is the page of a search for a customer's own id: the customer with
// that id, when it is q's domain's, in the exact tier, and no one else (a
// page after it is empty; one of another status is found and filtered
// out). found is false when no customer of the domain has the id: the text
// is searched for as any other then (a serial number or an external id may
// have an id's form).
func (s *Service) byOwnID(ctx context.Context, q SearchQuery, id string, req SearchRequest) (page Page, found bool, err error) {
	c, err := s.store.CustomerByID(ctx, id)
	switch {
	case errors.Is(err, apperr.ErrNotFound) || err == nil && c.DomainID != q.DomainID:
		return Page{}, false, nil
	case err != nil:
		return Page{}, false, fmt.Errorf("search customers: %w", err)
	case q.Status != "" && c.Status != q.Status || req.After != nil:
		return Page{}, true, nil
	}
	c.PasswordHash = "" // as the store leaves it out of a hit
	last, first := SortKeys(c)
	hit := Hit{Customer: c, Cursor: Cursor{Exact: true, LastKey: last, FirstKey: first, ID: c.ID}}
	if req.Matches {
		hit.Matches = []Highlight{{Field: MatchID, Value: c.ID, Ranges: []TextRange{{Start: 0, Length: len(c.ID)}}}}
	}
	return Page{Hits: []Hit{hit}}, true, nil
}

// addMatches fills in what the terms matched in each hit (Matches), with the
// hits' devices read at once.
func (s *Service) addMatches(ctx context.Context, domainID string, terms []string, hits []Hit) error {
	d, err := s.store.DomainByID(ctx, domainID)
	if err != nil {
		return fmt.Errorf("search customers: %w", err)
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Customer.ID
	}
	devs, err := s.store.DevicesOfCustomers(ctx, ids)
	if err != nil {
		return fmt.Errorf("search customers: %w", err)
	}
	byCustomer := map[string][]devices.Device{}
	for _, dev := range devs {
		byCustomer[dev.CustomerID] = append(byCustomer[dev.CustomerID], dev)
	}
	for i := range hits {
		hits[i].Matches = Matches(hits[i].Customer, byCustomer[hits[i].Customer.ID], terms, d.DefaultRegion)
	}
	return nil
}

// Count returns how many of the domain's customers match text and status.
func (s *Service) Count(ctx context.Context, domainID, text string, status Status) (int64, error) {
	q, err := s.query(ctx, domainID, text, status)
	if err != nil {
		return 0, err
	}
	if matchesNobody(q, text) {
		return 0, nil
	}
	if id, ok := ownID(text); ok {
		if page, found, err := s.byOwnID(ctx, q, id, SearchRequest{}); found || err != nil {
			return int64(len(page.Hits)), err
		}
	}
	n, err := s.store.CountCustomerMatches(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}

// matchesNobody reports whether text, the query q was parsed from, gives no
// term but holds a character no token can: an emoji or another symbol
// outside ASCII ("😀", "★"), a combining mark alone. Such a search finds no
// one. Punctuation and ASCII symbols alone ("\"", "+", "(", "! ! !") are
// read as a blank search, which lists everyone: a query as it is being typed
// begins with them, and its results should not vanish and come back.
func matchesNobody(q SearchQuery, text string) bool {
	return len(q.Terms) == 0 && strings.ContainsFunc(text, func(r rune) bool {
		return r > unicode.MaxASCII && !unicode.IsPunct(r) && !unicode.IsSpace(r)
	})
}

func (s *Service) query(ctx context.Context, domainID, text string, status Status) (SearchQuery, error) {
	region := ""
	if _, phone := phoneQuery(text); phone { // only a phone number needs the domain's region
		d, err := s.store.DomainByID(ctx, domainID)
		if err != nil {
			return SearchQuery{}, fmt.Errorf("search customers: %w", err)
		}
		region = d.DefaultRegion
	}
	terms, err := ParseQuery(text, region)
	if err != nil {
		return SearchQuery{}, err
	}
	if status != "" && status != StatusActive && status != StatusDisabled {
		return SearchQuery{}, apperr.Invalid("status", "INVALID", "status must be ACTIVE or DISABLED")
	}
	return SearchQuery{DomainID: domainID, Terms: terms, Status: status}, nil
}
