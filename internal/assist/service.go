package assist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/tokens"
)

// Defaults.
const (
	DefaultTTL = 30 * time.Minute
	TicketTTL  = time.Minute
	// SystemActor ends sessions nobody ended by hand: expiry, revocation.
	SystemActor = "system"
	// StartBurst and StartInterval limit how fast one operator starts
	// remote assistance: StartBurst at once, then one per StartInterval
	// (a token bucket). Each assistance adds to what every customer,
	// accessHistory and assistSessions read costs; nobody helping callers
	// on the phone starts more than a few a minute.
	StartBurst    = 10
	StartInterval = 30 * time.Second
)

// ServiceStore is what the assist service needs from storage.
type ServiceStore interface {
	Store
	CustomerByID(ctx context.Context, id string) (customers.Customer, error)
	DomainByID(ctx context.Context, id string) (domains.Domain, error)
	OperatorByID(ctx context.Context, id string) (operators.Operator, error)
}

// Service starts, ends and lists remote assistance.
type Service struct {
	store ServiceStore
	now   func() time.Time
	ttl   time.Duration

	mu     sync.Mutex
	starts map[string]*rate.Limiter // per operator id
}

// NewService returns a Service whose sessions last ttl.
func NewService(store ServiceStore, now func() time.Time, ttl time.Duration) *Service {
	return &Service{store: store, now: now, ttl: ttl, starts: map[string]*rate.Limiter{}}
}

// maxStartLimiters bounds the per-operator limiters kept; past it, those
// whose bucket has refilled (nothing to remember) are dropped.
const maxStartLimiters = 10_000

// allowStart takes one start from operatorID's bucket, or returns
// apperr.ErrRateLimited with the time until the next one. Buckets live in
// this process: with several instances, each counts the starts it serves.
func (s *Service) allowStart(operatorID string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	lim := s.starts[operatorID]
	if lim == nil {
		if len(s.starts) >= maxStartLimiters {
			for id, l := range s.starts {
				if l.TokensAt(now) >= StartBurst {
					delete(s.starts, id)
				}
			}
		}
		lim = rate.NewLimiter(rate.Every(StartInterval), StartBurst)
		s.starts[operatorID] = lim
	}
	r := lim.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return fmt.Errorf("start assistance: %w", apperr.RetryAfter(wait))
	}
	return nil
}

// Start opens a remote assistance of customer id for an operator (actor) and
// returns it with its one-time ticket. Refusals: a reason that is blank or
// too long, a customer that is disabled (*apperr.ValidationError), a
// customer outside the operator's domain (apperr.ErrNotFound), an operator
// past StartBurst and StartInterval (apperr.ErrRateLimited). It lasts the
// domain's assistTtl setting, or the service's ttl when the domain has none.
func (s *Service) Start(ctx context.Context, actor audit.Actor, customerID, reason string) (Session, string, error) {
	reason, err := names.Reason("reason", reason)
	if err != nil {
		return Session{}, "", err
	}
	if reason == "" {
		return Session{}, "", apperr.Invalid("reason", "REQUIRED", "Say why you are assisting the customer.")
	}
	c, err := s.store.CustomerByID(ctx, customerID)
	if err := domains.Owned("customer", customerID, c.DomainID, actor.DomainID, err); err != nil {
		return Session{}, "", err
	}
	if c.Status != customers.StatusActive {
		return Session{}, "", apperr.Invalid("customerId", "ACCOUNT_DISABLED", "A disabled account cannot be assisted.")
	}
	if err := s.allowStart(actor.ID); err != nil {
		return Session{}, "", err
	}
	d, err := s.store.DomainByID(ctx, c.DomainID)
	if err != nil {
		return Session{}, "", err
	}
	op, err := s.store.OperatorByID(ctx, actor.ID)
	if err != nil {
		return Session{}, "", err
	}
	ttl := s.ttl
	if d.AssistTTL > 0 {
		ttl = d.AssistTTL
	}
	at, ticket := s.now(), tokens.New()
	a := Session{
		ID: ids.New(), DomainID: c.DomainID, CustomerID: c.ID, OperatorID: actor.ID, Reason: reason,
		StartedAt: at, ExpiresAt: at.Add(ttl), State: StateActive, CustomerEpoch: c.SessionEpoch, OperatorEpoch: op.SessionEpoch,
		TicketHash: tokens.Hash(ticket), TicketExpiresAt: at.Add(TicketTTL),
	}
	actor.AssistID = a.ID
	rec := s.record(ctx, actor, audit.ActionAssistStarted, a, reason, at)
	ev := s.event(events.AssistStarted, a, actor.ID, at, map[string]string{events.KeyReason: reason, events.KeyExpiresAt: a.ExpiresAt.Format(time.RFC3339)})
	if err := s.store.CreateAssist(ctx, a, rec, []events.Event{ev}); err != nil {
		return Session{}, "", err
	}
	return a, ticket, nil
}

func (s *Service) record(ctx context.Context, actor audit.Actor, action string, a Session, reason string, at time.Time) audit.Record {
	r := actor.Record(action, audit.TargetCustomer, a.CustomerID, reason)
	r.ID, r.At, r.RequestID, r.AssistID = ids.New(), at, audit.RequestID(ctx), a.ID
	return r
}

func (s *Service) event(t events.Type, a Session, actorID string, at time.Time, data map[string]string) events.Event {
	data[events.KeyAssistID] = a.ID
	data[events.KeyOperatorID] = a.OperatorID
	return events.Event{ID: ids.New(), DomainID: a.DomainID, Type: t, CustomerID: a.CustomerID, ActorID: actorID, Data: data, OccurredAt: at}
}

// Current returns a's state now.
func (s *Service) Current(a Session) State {
	return a.Current(s.now())
}

// Get returns assist session id of domainID, or apperr.ErrNotFound.
func (s *Service) Get(ctx context.Context, domainID, id string) (Session, error) {
	a, err := s.store.AssistByID(ctx, id)
	if err := domains.Owned("assist session", id, a.DomainID, domainID, err); err != nil {
		return Session{}, err
	}
	return a, nil
}

// GetMany returns the assist sessions ids of domainID, read from the store
// at once. The batch answers each id as Get would: another domain's session
// is dropped and answers apperr.ErrOtherDomain (which reads as
// apperr.ErrNotFound), an unknown id apperr.ErrNotFound. It returns an
// error only when the store fails.
func (s *Service) GetMany(ctx context.Context, domainID string, ids []string) (domains.Batch[Session], error) {
	as, err := s.store.AssistsByIDs(ctx, ids)
	if err != nil {
		return domains.Batch[Session]{}, fmt.Errorf("assist sessions: %w", err)
	}
	return domains.OwnedBatch("assist session", domainID, as, func(a Session) (string, string) { return a.ID, a.DomainID }), nil
}

// End ends an active session as state, for actor (an operator, or the
// system). It returns the session as ended; ending one that has already
// ended is not an error and changes nothing, and one whose time has run out
// ends as StateExpired, by the system, whoever asked.
func (s *Service) End(ctx context.Context, actor audit.Actor, a Session, state State, why string) (Session, error) {
	at := s.now()
	if a.Current(at) == StateExpired && a.State == StateActive {
		// Its time ran out before anyone ended it (the sweeper has not
		// recorded it yet): it ends as what it is, expired, not as ended by
		// whoever came too late.
		actor, state, why = audit.Actor{Type: audit.ActorSystem, ID: SystemActor, DomainID: a.DomainID}, StateExpired, "expired"
	}
	endedBy := actor.ID
	if actor.Type == audit.ActorSystem {
		endedBy = SystemActor
	}
	actor.AssistID = a.ID
	rec := s.record(ctx, actor, audit.ActionAssistEnded, a, why, at)
	ev := s.event(events.AssistEnded, a, endedBy, at, map[string]string{events.KeyState: string(state), events.KeyReason: why})
	err := s.store.EndAssist(ctx, a.ID, state, endedBy, at, rec, []events.Event{ev})
	if err != nil && !errors.Is(err, apperr.ErrConflict) {
		return Session{}, err
	}
	return s.store.AssistByID(ctx, a.ID)
}

// EndAll ends every active session f selects, as state, for actor.
func (s *Service) EndAll(ctx context.Context, actor audit.Actor, f ActiveFilter, state State, why string) error {
	active, err := s.store.ActiveAssists(ctx, f)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range active {
		act := actor
		if act.DomainID == "" {
			act.DomainID = a.DomainID
		}
		_, err := s.End(ctx, act, a, state, why)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SweepExpired records the end of every session whose time ran out.
func (s *Service) SweepExpired(ctx context.Context) error {
	return s.EndAll(ctx, audit.Actor{Type: audit.ActorSystem, ID: SystemActor}, ActiveFilter{ExpiredAfter: s.now()}, StateExpired, "expired")
}

// List returns sessions of the domain matching q, newest first.
func (s *Service) List(ctx context.Context, q Query) ([]Session, error) {
	return s.store.AssistSessions(ctx, q)
}

// ChangesOf returns what was done in domainID during each of sessions ids,
// by session id, oldest first within each, read from the store at once. A
// session without records, and one of another domain, is absent: records
// of another domain are dropped.
func (s *Service) ChangesOf(ctx context.Context, domainID string, ids []string) (map[string][]audit.Record, error) {
	bySession, err := s.store.AuditRecordsOfAssists(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("changes of assist sessions: %w", err)
	}
	for id, records := range bySession {
		if records = slices.DeleteFunc(records, func(r audit.Record) bool { return r.DomainID != domainID }); len(records) > 0 {
			bySession[id] = records
		} else {
			delete(bySession, id)
		}
	}
	return bySession, nil
}
