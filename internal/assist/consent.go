package assist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/tokens"
)

// Refusals of the consent flow, as the API's userErrors show them.
var (
	errNotPending       = apperr.Invalid("assistSessionId", "NOT_PENDING", "This request is no longer waiting for an answer: it was answered, it expired, or the assistance ended.")
	errAlreadyControl   = apperr.Invalid("assistSessionId", "ALREADY_CONTROL", "This assistance already has control.")
	errAlreadyRequested = apperr.Invalid("assistSessionId", "ALREADY_REQUESTED", "The customer is already being asked.")
	errNotActive        = apperr.Invalid("assistSessionId", "NOT_ACTIVE", "This assistance is not running: it waits for the customer, or it ended.")
	errAlreadyOpened    = apperr.Invalid("assistSessionId", "ALREADY_OPENED", "This assistance is already open in a tab.")
)

// requested returns the ASSIST_REQUESTED event of a's pending request.
func (s *Service) requested(a Session, actorID string, at time.Time) events.Event {
	return s.event(events.AssistRequested, a, actorID, at, map[string]string{events.KeyReason: a.Reason,
		events.KeyMode: string(a.Request.Mode), events.KeyExpiresAt: a.Request.ExpiresAt.Format(time.RFC3339)})
}

// answered returns the ASSIST_ANSWERED event of a's request, as answered.
func (s *Service) answered(a Session, actorID string, at time.Time) events.Event {
	return s.event(events.AssistAnswered, a, actorID, at, map[string]string{events.KeyState: string(a.Request.State), events.KeyMode: string(a.ModeNow())})
}

// Respond records the answer of a customer (actor, in its own session) to
// the pending request of assistance id: approving a PENDING assistance
// makes it ACTIVE in the mode asked, lasting the domain's assistTtl from
// now (ASSIST_STARTED); declining it ends it as DECLINED (ASSIST_ENDED);
// approving a request for control gives the running assistance
// ModeControl, declining leaves it as it is. Each answer is audited
// (assist_approved, assist_declined) and announced (ASSIST_ANSWERED). It
// returns apperr.ErrNotFound for an id of no assistance of this customer
// and NOT_PENDING (*apperr.ValidationError) when its request no longer
// waits (answered, expired, withdrawn; also when two answers race).
func (s *Service) Respond(ctx context.Context, actor audit.Actor, id string, approve bool) (Session, error) {
	a, err := s.Get(ctx, actor.DomainID, id)
	if err == nil && a.CustomerID != actor.ID {
		err = fmt.Errorf("assist session %s: %w", id, apperr.ErrOtherCustomer)
	}
	if err != nil {
		return Session{}, err
	}
	at := s.now()
	if a.RequestNow(at) != RequestPending {
		return Session{}, errNotPending
	}
	next, action, why := a, audit.ActionAssistDeclined, "declined by the customer"
	next.Request.AnsweredAt = at
	var evs []events.Event
	if approve {
		action, why, next.Request.State = audit.ActionAssistApproved, "approved by the customer", RequestApproved
		next.Mode = a.Request.Mode
		if a.State == StatePending {
			d, err := s.store.DomainByID(ctx, a.DomainID)
			if err != nil {
				return Session{}, err
			}
			next.State, next.ExpiresAt = StateActive, at.Add(s.ttlOf(d))
			evs = append(evs, s.event(events.AssistStarted, next, actor.ID, at, map[string]string{events.KeyReason: a.Reason,
				events.KeyExpiresAt: next.ExpiresAt.Format(time.RFC3339), events.KeyMode: string(next.Mode)}))
		}
	} else {
		next.Request.State = RequestDeclined
		if a.State == StatePending {
			next.State, next.EndedAt, next.EndedBy = StateDeclined, at, CustomerActor
			evs = append(evs, s.event(events.AssistEnded, next, actor.ID, at, map[string]string{events.KeyState: string(StateDeclined), events.KeyReason: why}))
		}
	}
	evs = append([]events.Event{s.answered(next, actor.ID, at)}, evs...)
	actor.AssistID = a.ID
	rec := s.record(ctx, actor, action, a, why, at)
	if err := s.store.UpdateAssist(ctx, next, a, rec, evs); err != nil {
		if errors.Is(err, apperr.ErrConflict) {
			return Session{}, errNotPending
		}
		return Session{}, err
	}
	return next, nil
}

// RequestControl asks the customer for control of view-only assistance id
// from its own assist session (actor, acting for the customer): the
// customer is asked as Start asks (ASSIST_REQUESTED, mode CONTROL, for
// RequestTTL) and Respond's approval gives control to the same session,
// without a new ticket. Where the domain's AssistConsent needs no
// agreement for control (NONE), control is given at once and the customer
// told (ASSIST_ANSWERED). Audited (assist_escalated) either way. It
// returns apperr.ErrForbidden for another assistance than the actor's own,
// NOT_ACTIVE, ALREADY_CONTROL or ALREADY_REQUESTED
// (*apperr.ValidationError) when there is nothing to ask. A request that
// asks the customer is refused with CUSTOMER_OFFLINE when the customer has
// no app or dashboard open (as Start), and takes one start from the
// operator's allowance (allowStart: apperr.ErrRateLimited beyond it).
func (s *Service) RequestControl(ctx context.Context, actor audit.Actor, id string) (Session, error) {
	if actor.AssistID != id {
		return Session{}, fmt.Errorf("request control of assistance %s from another: %w", id, apperr.ErrForbidden)
	}
	a, err := s.Get(ctx, actor.DomainID, id)
	if err != nil {
		return Session{}, err
	}
	at := s.now()
	switch {
	case a.Current(at) != StateActive:
		return Session{}, errNotActive
	case a.ModeNow() == ModeControl:
		return Session{}, errAlreadyControl
	case a.RequestNow(at) == RequestPending:
		return Session{}, errAlreadyRequested
	}
	d, err := s.store.DomainByID(ctx, a.DomainID)
	if err != nil {
		return Session{}, err
	}
	next := a
	var ev events.Event
	why := "control asked of the customer"
	if d.AssistConsent.Needed(true) {
		if !s.Online(ctx, a.CustomerID) {
			return Session{}, apperr.Invalid("assistSessionId", "CUSTOMER_OFFLINE",
				"The customer has no app or dashboard open, so they cannot be asked for control. Ask them to open it.")
		}
		// Each request is a modal prompt for the customer: it takes from the operator's start
		// allowance (StartBurst, then one per StartInterval), as startAssist does.
		if err := s.allowStart(a.OperatorID); err != nil {
			return Session{}, err
		}
		next.Request = Request{Mode: ModeControl, State: RequestPending, At: at, ExpiresAt: at.Add(RequestTTL)}
		ev = s.requested(next, actor.ID, at)
	} else {
		why = "control given at once: the domain needs no agreement"
		// Nobody was asked: no request stands (an earlier decline or expiry must not read as the answer).
		next.Mode, next.Request = ModeControl, Request{}
		ev = s.event(events.AssistAnswered, next, actor.ID, at, map[string]string{events.KeyState: string(RequestApproved), events.KeyMode: string(ModeControl)})
	}
	rec := s.record(ctx, actor, audit.ActionAssistEscalated, a, why, at)
	if err := s.store.UpdateAssist(ctx, next, a, rec, []events.Event{ev}); err != nil {
		if errors.Is(err, apperr.ErrConflict) {
			return Session{}, errAlreadyRequested
		}
		return Session{}, err
	}
	return next, nil
}

// IssueTicket returns a new one-time ticket (TicketTTL) for ACTIVE
// assistance id, for the operator (actor) who started it: the ticket
// Start returns when no agreement is needed, for an assistance the customer
// approved. A new ticket replaces one not redeemed. It returns
// apperr.ErrNotFound for an id of no assistance of the domain,
// apperr.ErrForbidden for another operator's, and NOT_ACTIVE or
// ALREADY_OPENED (*apperr.ValidationError).
func (s *Service) IssueTicket(ctx context.Context, actor audit.Actor, id string) (Session, string, error) {
	a, err := s.Get(ctx, actor.DomainID, id)
	if err != nil {
		return Session{}, "", err
	}
	if a.OperatorID != actor.ID {
		return Session{}, "", fmt.Errorf("ticket of another operator's assistance %s: %w", id, apperr.ErrForbidden)
	}
	at := s.now()
	if a.Current(at) != StateActive {
		return Session{}, "", errNotActive
	}
	if a.TicketUsed {
		return Session{}, "", errAlreadyOpened
	}
	ticket := tokens.New()
	a.TicketHash, a.TicketExpiresAt = tokens.Hash(ticket), at.Add(TicketTTL)
	if err := s.store.SetAssistTicket(ctx, a.ID, a.TicketHash, a.TicketExpiresAt); err != nil {
		if errors.Is(err, apperr.ErrConflict) {
			return Session{}, "", errAlreadyOpened
		}
		return Session{}, "", err
	}
	return a, ticket, nil
}

// EndByCustomer ends assistance id for the customer assisted (actor, in its
// own session): running or pending, with the assist session's token and
// sockets. It returns the session as ended, and apperr.ErrNotFound for an
// id of no assistance of this customer.
func (s *Service) EndByCustomer(ctx context.Context, actor audit.Actor, id string) (Session, error) {
	a, err := s.Get(ctx, actor.DomainID, id)
	if err == nil && a.CustomerID != actor.ID {
		err = fmt.Errorf("assist session %s: %w", id, apperr.ErrOtherCustomer)
	}
	if err != nil {
		return Session{}, err
	}
	return s.End(ctx, actor, a, StateEnded, "ended by the customer")
}

// ExpireRequests records the expiry of every request nobody answered within
// RequestTTL: a PENDING assistance ends as EXPIRED (ASSIST_ENDED), a
// request for control leaves the assistance as it was; each is audited
// (assist_request_expired, by the system) and announced (ASSIST_ANSWERED).
// Every instance may run it: the first conditional write wins.
func (s *Service) ExpireRequests(ctx context.Context) error {
	due, err := s.store.PendingAssistRequests(ctx, s.now())
	if err != nil {
		return fmt.Errorf("expire assistance requests: %w", err)
	}
	var errs []error
	for _, a := range due {
		errs = append(errs, s.expireRequest(ctx, a))
	}
	return errors.Join(errs...)
}

// expireRequest records that a's pending request expired; one already
// answered or expired elsewhere changes nothing, nor one withdrawn: an
// assistance no longer PENDING or ACTIVE (ended by the operator, the
// customer or its own expiry first) keeps its request as it was, which
// reads WITHDRAWN. The write is conditional on a's state, mode and request
// state, so an end racing the expiry wins.
func (s *Service) expireRequest(ctx context.Context, a Session) error {
	at := s.now()
	if a.Request.State != RequestPending || (a.State != StatePending && (a.State != StateActive || a.Current(at) != StateActive)) {
		return nil
	}
	next := a
	// It expired when its time ran out, not when this noticed (the record
	// and the events are of now).
	expired := a.Request.ExpiresAt
	next.Request.State, next.Request.AnsweredAt = RequestExpired, expired
	actor := audit.Actor{Type: audit.ActorSystem, ID: SystemActor, DomainID: a.DomainID, AssistID: a.ID}
	evs := []events.Event{s.answered(next, SystemActor, at)}
	if a.State == StatePending {
		next.State, next.EndedAt, next.EndedBy = StateExpired, expired, SystemActor
		evs = append(evs, s.event(events.AssistEnded, next, SystemActor, at, map[string]string{events.KeyState: string(StateExpired), events.KeyReason: "the customer did not answer"}))
	}
	rec := s.record(ctx, actor, audit.ActionAssistRequestExpired, a, "not answered within "+RequestTTL.String(), at)
	err := s.store.UpdateAssist(ctx, next, a, rec, evs)
	if err != nil && !errors.Is(err, apperr.ErrConflict) {
		return fmt.Errorf("expire the request of assistance %s: %w", a.ID, err)
	}
	return nil
}

// Acted announces to the customer what an assisting operator (actor,
// acting for it) just did: one ASSIST_ACTION per note, in order. The
// change itself is already written and audited: a failure here loses the
// live notice, never the change or its record.
func (s *Service) Acted(ctx context.Context, actor audit.Actor, notes []string) error {
	at := s.now()
	var errs []error
	for _, note := range notes {
		e := events.Event{ID: ids.New(), DomainID: actor.DomainID, Type: events.AssistAction, CustomerID: actor.ActingFor, ActorID: actor.ID,
			Data: map[string]string{events.KeyAssistID: actor.AssistID, events.KeyOperatorID: actor.ID, events.KeyAction: note}, OccurredAt: at}
		errs = append(errs, s.store.AppendEvent(ctx, e))
	}
	return errors.Join(errs...)
}

// PresenceTTL is how long a customer's shared presence record lasts
// unless renewed: each instance renews those of its open connections every
// PresenceTTL/3, so an instance that stops leaves records that lapse
// within PresenceTTL.
const PresenceTTL = 90 * time.Second

// Presence counts the customers' own open app and dashboard connections in
// this process (their accountEvents subscriptions): whom a request for
// agreement can reach. With a PresenceStore (SharePresence), every
// instance also knows those open on the others.
type Presence struct {
	mu    sync.Mutex
	count map[string]int // customer id -> open connections

	shared   PresenceStore
	instance string
	ctx      context.Context // for the writes to shared, and their logs
	now      func() time.Time
}

// NewPresence returns an empty Presence of this process alone.
func NewPresence() *Presence { return &Presence{count: map[string]int{}} }

// join records one open connection of customerID; first says it is its
// only one here.
func (p *Presence) join(customerID string) (first bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count[customerID]++
	return p.count[customerID] == 1
}

// leave forgets one; last says it was its last one here.
func (p *Presence) leave(customerID string) (last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count[customerID]--; p.count[customerID] <= 0 {
		delete(p.count, customerID)
		return true
	}
	return false
}

// local reports whether customerID has an open connection here.
func (p *Presence) local(customerID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count[customerID] > 0
}

// customers returns the customers with an open connection here.
func (p *Presence) customers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.count))
	for id := range p.count {
		out = append(out, id)
	}
	return out
}

// share writes customerID's presence here to the shared store (until
// PresenceTTL from now, or removed), when there is one; a failure is logged
// and renewed at the next round.
func (p *Presence) share(customerID string, open bool) {
	p.mu.Lock()
	shared, ctx := p.shared, p.ctx
	p.mu.Unlock()
	if shared == nil {
		return
	}
	until := time.Time{}
	if open {
		until = p.now().Add(PresenceTTL)
	}
	if err := shared.SetPresence(ctx, customerID, p.instance, until); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("share presence")
	}
}

// Present records an open app or dashboard connection of customerID (its
// own session's accountEvents subscription) until leave is called: Start
// asks only a customer who has one, here or, with SharePresence, on any
// instance.
func (s *Service) Present(customerID string) (leave func()) {
	if s.presence.join(customerID) {
		s.presence.share(customerID, true)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if s.presence.leave(customerID) {
				s.presence.share(customerID, false)
			}
		})
	}
}

// Online reports whether customerID has an app or dashboard open here or,
// with SharePresence, on another instance: whether it can be asked for its
// agreement. A shared store that fails is taken as saying no.
func (s *Service) Online(ctx context.Context, customerID string) bool {
	if s.presence.local(customerID) {
		return true
	}
	s.presence.mu.Lock()
	shared := s.presence.shared
	s.presence.mu.Unlock()
	if shared == nil {
		return false
	}
	present, err := shared.Present(ctx, customerID, s.now())
	return err == nil && present
}

// SharePresence makes this instance (named instance) record its customers'
// open connections in store and read the others', until ctx ends: one
// goroutine renews them every PresenceTTL/3 on clk and deletes the records
// that lapsed (an instance that stopped).
func (s *Service) SharePresence(ctx context.Context, store PresenceStore, instance string, clk clock.Clock) {
	p := s.presence
	p.mu.Lock()
	p.shared, p.instance, p.ctx, p.now = store, instance, ctx, clk.Now
	p.mu.Unlock()
	var renew func()
	renew = func() {
		if ctx.Err() != nil {
			return
		}
		for _, id := range p.customers() {
			p.share(id, true)
		}
		if err := store.DeletePresenceBefore(ctx, clk.Now()); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("delete lapsed presence")
		}
		clk.AfterFunc(PresenceTTL/3, renew)
	}
	clk.AfterFunc(PresenceTTL/3, renew)
}

// requestExpiry is the one timer of a process that expires requests when
// they fall due.
type requestExpiry struct {
	mu    sync.Mutex
	timer clock.Timer
	due   time.Time
}

// ExpireRequestsOnTime expires each request for the customer's agreement
// when its RequestTTL passes, so that the console and the customer see
// EXPIRED at once (assistSessionChanged, accountEvents) rather than at the
// next sweep: one timer of clk per process, set to the earliest expiry of
// the requests (ASSIST_REQUESTED) that reach broker from any instance,
// until ctx ends. Reads evaluate expiry by themselves (Session.Current,
// RequestNow) and SweepExpired catches what a stopped instance missed.
func (s *Service) ExpireRequestsOnTime(ctx context.Context, broker *events.Broker, clk clock.Clock) {
	var fire func()
	schedule := func(at time.Time) {
		s.expiry.mu.Lock()
		defer s.expiry.mu.Unlock()
		if s.expiry.timer != nil && !at.Before(s.expiry.due) {
			return
		}
		if s.expiry.timer != nil {
			s.expiry.timer.Stop()
		}
		s.expiry.due, s.expiry.timer = at, clk.AfterFunc(max(at.Sub(clk.Now()), 0), fire)
	}
	fire = func() {
		s.expiry.mu.Lock()
		s.expiry.timer = nil
		s.expiry.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err := s.ExpireRequests(ctx); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("expire assistance requests")
		}
		if next, err := s.store.PendingAssistRequests(ctx, time.Time{}); err == nil && len(next) > 0 {
			schedule(next[0].Request.ExpiresAt)
		}
	}
	broker.React(ctx, func(e events.Event) bool { return e.Type == events.AssistRequested }, func(e events.Event) {
		if at, err := time.Parse(time.RFC3339, e.Data[events.KeyExpiresAt]); err == nil {
			schedule(at.Add(time.Second)) // RFC 3339 keeps whole seconds
		}
	})
	context.AfterFunc(ctx, func() {
		s.expiry.mu.Lock()
		defer s.expiry.mu.Unlock()
		if s.expiry.timer != nil {
			s.expiry.timer.Stop()
		}
	})
}
