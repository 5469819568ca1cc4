package resolvers

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
)

// forward returns a subscription resolver's channel: the mappings of the
// broker's events that filter accepts (see events.Feed), until the
// operation ends or the subscriber falls behind; its client subscribes
// again.
func forward[T any](ctx context.Context, broker *events.Broker, filter func(events.Event) bool, mapping func(events.Event) (T, bool)) <-chan T {
	if gate := events.GateOf(ctx); gate != nil { // a socket's: nothing after what ended its session
		accepts := filter
		filter = func(e events.Event) bool { return gate.Open(broker.Publishing()) && accepts(e) }
	}
	sub, c := events.Feed(broker, filter, mapping)
	context.AfterFunc(ctx, sub.Cancel)
	return c
}

// startWith returns a channel that sends first, then what rest sends,
// until rest closes or ctx ends.
func startWith[T any](ctx context.Context, first T, rest <-chan T) <-chan T {
	out := make(chan T, 1)
	out <- first
	go func() {
		defer close(out)
		for v := range rest {
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// statusChange reads what a STATUS_CHANGED event's subscribers are sent.
// It reads without the operation's dataloaders: a subscription lives long,
// and each event must show the customer as it is now.
func (r *Resolver) statusChange(ctx context.Context, e events.Event) (*model.CustomerStatusChange, error) {
	c, err := r.CustomerService.Get(ctx, e.DomainID, e.CustomerID)
	if err != nil {
		return nil, err
	}
	change := &model.CustomerStatusChange{Customer: mapCustomer(c), PreviousStatus: model.AccountStatus(e.Data[events.KeyPreviousStatus]),
		Status: model.AccountStatus(e.Data[events.KeyStatus]), OccurredAt: e.OccurredAt}
	if reason := e.Data[events.KeyReason]; reason != "" {
		change.Reason = &reason
	}
	if op, err := r.OperatorService.Get(ctx, e.DomainID, e.ActorID); err == nil {
		change.ChangedBy = mapAssistingOperator(op)
	}
	return change, nil
}

// profileChange reads what a PROFILE_UPDATED event's subscribers are sent,
// as statusChange does for status changes.
func (r *Resolver) profileChange(ctx context.Context, e events.Event) (*model.CustomerProfileChange, error) {
	c, err := r.CustomerService.Get(ctx, e.DomainID, e.CustomerID)
	if err != nil {
		return nil, err
	}
	change := &model.CustomerProfileChange{Customer: mapCustomer(c), Fields: strings.Split(e.Data[events.KeyFields], ","), OccurredAt: e.OccurredAt}
	if op, err := r.OperatorService.Get(ctx, e.DomainID, e.ActorID); err == nil {
		change.ChangedBy = mapAssistingOperator(op)
	}
	return change, nil
}

// detailsChange reads what a customerDetailsChanged subscriber is sent for
// an assistance started or ended, a device changed or a password reset, as
// statusChange does for status changes.
func (r *Resolver) detailsChange(ctx context.Context, e events.Event) (*model.CustomerDetailsChange, error) {
	c, err := r.CustomerService.Get(ctx, e.DomainID, e.CustomerID)
	if err != nil {
		return nil, err
	}
	change := &model.CustomerDetailsChange{Type: model.CustomerDetailsChangeType(e.Type), Customer: mapCustomer(c), OccurredAt: e.OccurredAt}
	if id := e.Data[events.KeyAssistID]; id != "" {
		gid := globalID(typeAssist, id)
		change.AssistSessionID = &gid
	}
	if id := e.Data[events.KeyDeviceID]; id != "" {
		gid := globalID(typeDevice, id)
		change.DeviceID = &gid
	}
	return change, nil
}

// statusChangeView leaves the reason out of a status change for an operator
// without VIEW_AUDIT_LOG, as Customer.disabling does.
func statusChangeView(p sessions.Principal, c *model.CustomerStatusChange) *model.CustomerStatusChange {
	if c.Reason == nil || p.Can(operators.PermViewAuditLog) {
		return c
	}
	without := *c
	without.Reason = nil
	return &without
}

// detailsChangeTypes are the events customerDetailsChanged reports.
var detailsChangeTypes = []events.Type{events.AssistStarted, events.AssistEnded, events.DeviceUpdated, events.PasswordReset}

// customerChanges streams to an operator with VIEW_CUSTOMER the events of
// the types given of its domain's customers (of one customer when customerID is
// given), each mapped by read once whatever the number of subscribers
// (memo), then by view for the subscriber (nil: as read; view must not
// change what read returned, which other subscribers share). An event whose
// customer cannot be read is skipped rather than ending the stream.
func customerChanges[T any](ctx context.Context, r *Resolver, customerID *string, types []events.Type, memo *eventMemo[T],
	read func(context.Context, events.Event) (T, error), view func(sessions.Principal, T) T) (<-chan T, error) {
	p, err := r.operator(ctx, operators.PermViewCustomer)
	if err != nil {
		return nil, err
	}
	only := ""
	if customerID != nil {
		if only, err = idOf(typeCustomer, *customerID); err != nil {
			return nil, err
		}
	}
	inDomain := func(e events.Event) bool {
		return slices.Contains(types, e.Type) && e.DomainID == p.DomainID && (only == "" || e.CustomerID == only)
	}
	return forward(ctx, r.EventBroker, inDomain, func(e events.Event) (T, bool) {
		change, err := memo.get(e.ID, func() (T, error) { return read(context.WithoutCancel(ctx), e) })
		if err == nil && view != nil {
			change = view(p, change)
		}
		return change, err == nil
	}), nil
}

// eventMemo computes what one event's subscribers are sent once, however
// many they are: every subscriber of a domain gets the same event, and ten
// thousand of them must not each read the store. It keeps the newest
// memoSize events.
type eventMemo[T any] struct {
	mu    sync.Mutex
	order []string
	calls map[string]*memoCall[T]
}

type memoCall[T any] struct {
	once sync.Once
	v    T
	err  error
}

const memoSize = 64

func (m *eventMemo[T]) get(id string, compute func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.calls == nil {
		m.calls = map[string]*memoCall[T]{}
	}
	c, ok := m.calls[id]
	if !ok {
		c = &memoCall[T]{}
		m.calls[id] = c
		m.order = append(m.order, id)
		if len(m.order) > memoSize {
			delete(m.calls, m.order[0])
			m.order = m.order[1:]
		}
	}
	m.mu.Unlock()
	c.once.Do(func() { c.v, c.err = compute() })
	return c.v, c.err
}
