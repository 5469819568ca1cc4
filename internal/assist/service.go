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
	// CustomerActor is the EndedBy of a session the customer declined or ended.
	CustomerActor = "customer"
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
	// AppendEvent stores an event on its own (ASSIST_ACTION).
	AppendEvent(ctx context.Context, e events.Event) error
}

// Service starts, ends and lists remote assistance.
type Service struct {
	store ServiceStore
	now   func() time.Time
	ttl   time.Duration

	mu     sync.Mutex
	starts map[string]*rate.Limiter // per operator id

	presence *Presence
	expiry   requestExpiry
}

// NewService returns a Service whose sessions last ttl.
func NewService(store ServiceStore, now func() time.Time, ttl time.Duration) *Service {
	return &Service{store: store, now: now, ttl: ttl, starts: map[string]*rate.Limiter{}, presence: NewPresence()}
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

// Start opens a CONTROL assistance: StartIn with ModeControl.
func (s *Service) Start(ctx context.Context, actor audit.Actor, customerID, reason string) (Session, string, error) {
	return s.StartIn(ctx, actor, customerID, reason, ModeControl)
}

// StartIn opens a remote assistance of customer id in mode for an operator
// (actor) and returns it with its one-time ticket. Where the domain's
// AssistConsent needs the customer's agreement to mode, it returns the
// session PENDING and no ticket: the customer is asked (ASSIST_REQUESTED)
// and has RequestTTL to answer (Respond). Refusals: a reason that is blank
// or too long, a mode that is neither VIEW nor CONTROL, a customer that is
// disabled, a customer to be asked who has no app or dashboard open
// (CUSTOMER_OFFLINE; *apperr.ValidationError), a customer outside the
// operator's domain (apperr.ErrNotFound), an operator past StartBurst and
// StartInterval (apperr.ErrRateLimited). It lasts the domain's assistTtl
// setting, or the service's ttl when the domain has none, from its start
// or, for a PENDING one, from the customer's approval.
func (s *Service) StartIn(ctx context.Context, actor audit.Actor, customerID, reason string, mode Mode) (Session, string, error) {
	reason, err := names.Reason("reason", reason)
	if err != nil {
		return Session{}, "", err
	}
	if reason == "" {
		return Session{}, "", apperr.Invalid("reason", "REQUIRED", "Say why you are assisting the customer.")
	}
	if mode != ModeView && mode != ModeControl {
		return Session{}, "", apperr.Invalid("mode", "INVALID", "The mode is VIEW or CONTROL.")
	}
	c, err := s.store.CustomerByID(ctx, customerID)
	if err := domains.Owned("customer", customerID, c.DomainID, actor.DomainID, err); err != nil {
		return Session{}, "", err
	}
	if c.Status != customers.StatusActive {
		return Session{}, "", apperr.Invalid("customerId", "ACCOUNT_DISABLED", "A disabled account cannot be assisted.")
	}
	d, err := s.store.DomainByID(ctx, c.DomainID)
	if err != nil {
		return Session{}, "", err
	}
	ask := d.AssistConsent.Needed(mode == ModeControl)
	if ask && !s.Online(ctx, c.ID) {
		return Session{}, "", apperr.Invalid("customerId", "CUSTOMER_OFFLINE",
			"The customer has no app or dashboard open, so they cannot be asked. Ask them to open it, or start a view-only assistance where the domain allows it.")
	}
	if err := s.allowStart(actor.ID); err != nil {
		return Session{}, "", err
	}
	op, err := s.store.OperatorByID(ctx, actor.ID)
	if err != nil {
		return Session{}, "", err
	}
	at, ticket := s.now(), tokens.New()
	a := Session{
		ID: ids.New(), DomainID: c.DomainID, CustomerID: c.ID, OperatorID: actor.ID, Reason: reason, Mode: mode,
		StartedAt: at, ExpiresAt: at.Add(s.ttlOf(d)), State: StateActive, CustomerEpoch: c.SessionEpoch, OperatorEpoch: op.SessionEpoch,
		TicketHash: tokens.Hash(ticket), TicketExpiresAt: at.Add(TicketTTL),
	}
	actor.AssistID = a.ID
	if ask {
		// No ticket until the customer agrees: the hash stored is of one
		// nobody was given, already expired.
		a.State, a.ExpiresAt, a.TicketExpiresAt = StatePending, at.Add(RequestTTL), at
		a.Request = Request{Mode: mode, State: RequestPending, At: at, ExpiresAt: at.Add(RequestTTL)}
		rec := s.record(ctx, actor, audit.ActionAssistRequested, a, reason, at)
		if err := s.store.CreateAssist(ctx, a, rec, []events.Event{s.requested(a, actor.ID, at)}); err != nil {
			return Session{}, "", err
		}
		return a, "", nil
	}
	rec := s.record(ctx, actor, audit.ActionAssistStarted, a, reason, at)
	ev := s.event(events.AssistStarted, a, actor.ID, at, map[string]string{events.KeyReason: reason,
		events.KeyExpiresAt: a.ExpiresAt.Format(time.RFC3339), events.KeyMode: string(mode)})
	if err := s.store.CreateAssist(ctx, a, rec, []events.Event{ev}); err != nil {
		return Session{}, "", err
	}
	return a, ticket, nil
}

// ttlOf returns how long an assistance of d lasts: its assistTtl setting,
// or the service's ttl.
func (s *Service) ttlOf(d domains.Domain) time.Duration {
	if d.AssistTTL > 0 {
		return d.AssistTTL
	}
	return s.ttl
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

// RequestNow returns where a's latest request stands now.
func (s *Service) RequestNow(a Session) RequestState {
	return a.RequestNow(s.now())
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

// End ends a running session (ACTIVE or PENDING) as state, for actor (an
// operator, the customer, or the system). It returns the session as ended; ending one that has already
// ended is not an error and changes nothing, and one whose time has run out
// ends as StateExpired, by the system, whoever asked.
func (s *Service) End(ctx context.Context, actor audit.Actor, a Session, state State, why string) (Session, error) {
	at := s.now()
	if a.State == StatePending && a.Current(at) == StateExpired {
		// Nobody answered its request in time: it expires as a request does.
		if err := s.expireRequest(ctx, a); err != nil {
			return Session{}, err
		}
		return s.store.AssistByID(ctx, a.ID)
	}
	endedAt := at
	if a.Current(at) == StateExpired && a.State == StateActive {
		// Its time ran out before anyone ended it (the sweeper has not
		// recorded it yet): it ends as what it is, expired, not as ended by
		// whoever came too late, and when its time ran out, not when this
		// noticed (the record and the event are of now).
		actor, state, why = audit.Actor{Type: audit.ActorSystem, ID: SystemActor, DomainID: a.DomainID}, StateExpired, "expired"
		endedAt = a.ExpiresAt
	}
	endedBy, eventActor := actor.ID, actor.ID // the event names the customer itself, so that byCustomer says it ended it
	switch actor.Type {
	case audit.ActorSystem:
		endedBy, eventActor = SystemActor, SystemActor
	case audit.ActorCustomer:
		endedBy = CustomerActor
	}
	actor.AssistID = a.ID
	rec := s.record(ctx, actor, audit.ActionAssistEnded, a, why, at)
	ev := s.event(events.AssistEnded, a, eventActor, at, map[string]string{events.KeyState: string(state), events.KeyReason: why})
	err := s.store.EndAssist(ctx, a.ID, state, endedBy, endedAt, rec, []events.Event{ev})
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

// SweepExpired records the end of every session whose time ran out, of
// every session whose operator's sign-ins of its start have all expired
// (endWithOperatorsSignIn), and the expiry of every request nobody
// answered in time (ExpireRequests).
func (s *Service) SweepExpired(ctx context.Context) error {
	system := audit.Actor{Type: audit.ActorSystem, ID: SystemActor}
	return errors.Join(s.ExpireRequests(ctx),
		s.EndAll(ctx, system, ActiveFilter{ExpiredAfter: s.now()}, StateExpired, "expired"),
		s.endWithOperatorsSignIn(ctx, system))
}

// endWithOperatorsSignIn ends, as StateExpired, every running session
// whose operator has no sign-in left of those it had when the session
// started: its token stops at that sign-in's expiry (sessions'
// Authenticate), and this records the end and tells the customer and the
// console (ASSIST_ENDED), as a sign-out does at once. Running sessions are
// few, so each is looked at in turn.
func (s *Service) endWithOperatorsSignIn(ctx context.Context, actor audit.Actor) error {
	running, err := s.store.ActiveAssists(ctx, ActiveFilter{})
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range running {
		until, err := s.store.OperatorSignedInUntil(ctx, a.OperatorID, a.StartedAt, s.now())
		if err != nil || !until.IsZero() {
			errs = append(errs, err)
			continue
		}
		act := actor
		act.DomainID = a.DomainID
		_, err = s.End(ctx, act, a, StateExpired, "its operator's session expired")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
