package resolvers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/operators"
)

// Global id type names.
const (
	typeCustomer = "Customer"
	typeOperator = "Operator"
	typeDevice   = "Device"
	typeAssist   = "AssistSession"
)

// globalID returns the opaque id clients see: base64url of "Type:id".
func globalID(typ, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id))
}

// parseGlobalID returns the type and internal id inside gid. It returns
// apperr.ErrNotFound for anything that is not a well-formed global id, so a
// forged id looks like a missing object.
func parseGlobalID(gid string) (typ, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil || len(raw) > 200 {
		return "", "", fmt.Errorf("global id: %w", apperr.ErrNotFound)
	}
	typ, id, ok := strings.Cut(string(raw), ":")
	if !ok || typ == "" || id == "" {
		return "", "", fmt.Errorf("global id: %w", apperr.ErrNotFound)
	}
	return typ, id, nil
}

// idOf returns the internal id inside gid if it names an object of type typ.
func idOf(typ, gid string) (string, error) {
	t, id, err := parseGlobalID(gid)
	if err != nil {
		return "", err
	}
	if t != typ {
		return "", fmt.Errorf("global id of %s, want %s: %w", t, typ, apperr.ErrNotFound)
	}
	return id, nil
}

func mapCustomer(c customers.Customer) *model.Customer {
	return &model.Customer{
		ID: globalID(typeCustomer, c.ID), FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone,
		Status: model.AccountStatus(c.Status), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func mapOperator(o operators.Operator, d domains.Domain) *model.Operator {
	perms := operators.Permissions(o.Role)
	out := make([]model.Permission, len(perms))
	for i, p := range perms {
		out[i] = model.Permission(p)
	}
	return &model.Operator{
		ID: globalID(typeOperator, o.ID), Name: o.Name, Email: o.Email, Role: model.OperatorRole(o.Role),
		Status: model.OperatorStatus(o.Status), Permissions: out, Domain: mapDomain(d),
	}
}

func mapDevice(d devices.Device) model.Device {
	return model.Device{
		ID: globalID(typeDevice, d.ID), Name: d.Name, Model: d.Model, Online: d.Online,
		Settings: &model.DeviceSettings{TargetTemperature: d.Settings.TargetTemperature, Mode: model.DeviceMode(d.Settings.Mode), Notifications: d.Settings.Notifications},
	}
}

func mapDomain(d domains.Domain) *model.Domain {
	return &model.Domain{ID: d.ID, Slug: d.Slug, Name: d.Name, DefaultRegion: d.DefaultRegion}
}

// userErrors turns the expected failures of a mutation into userErrors; any
// other error is returned to become a top-level error.
func userErrors(err error) ([]model.UserError, error) {
	var ve *apperr.ValidationError
	switch {
	case errors.As(err, &ve):
		return []model.UserError{{Field: strings.Split(ve.Field, "."), Message: ve.Message, Code: model.UserErrorCode(ve.Code)}}, nil
	case errors.Is(err, apperr.ErrInvalidCredentials):
		return []model.UserError{{Message: "The email or password is incorrect.", Code: model.UserErrorCodeInvalidCredentials}}, nil
	case errors.Is(err, apperr.ErrAccountDisabled):
		return []model.UserError{{Message: apperr.ErrAccountDisabled.Error(), Code: model.UserErrorCodeAccountDisabled}}, nil
	}
	return nil, err
}

// operatorNode maps o together with its domain.
func (r *Resolver) operatorNode(ctx context.Context, o operators.Operator) (*model.Operator, error) {
	d, err := r.DomainStore.DomainByID(ctx, o.DomainID)
	if err != nil {
		return nil, err
	}
	return mapOperator(o, d), nil
}

// maxCursorLength bounds the cursor text a client may send.
const maxCursorLength = 1024

// encodeCursor returns the opaque form of a search position.
func encodeCursor(c customers.Cursor) string { return encodeCursorOf(c) }

// encodeCursorOf returns the opaque form of any position: base64url of JSON.
func encodeCursorOf(position any) string {
	b, _ := json.Marshal(position) // positions are structs of plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursorInto reads a cursor made by encodeCursorOf into position,
// refusing anything else.
func decodeCursorInto(s string, position any) error {
	if len(s) > maxCursorLength {
		return errors.New("cursor too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(position); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the cursor")
	}
	return nil
}

// decodeCursor reads a search cursor made by encodeCursor. It returns a
// *apperr.ValidationError for anything else.
func decodeCursor(s string) (*customers.Cursor, error) {
	var c customers.Cursor
	if err := decodeCursorInto(s, &c); err != nil || c.ID == "" {
		return nil, apperr.Invalid("after", "INVALID", "after is not a cursor returned by this API")
	}
	return &c, nil
}

// fieldRequested reports whether the client selected the named field of the
// object the current resolver returns.
func fieldRequested(ctx context.Context, name string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == name {
			return true
		}
	}
	return false
}

// pageSize returns the page size a `first` argument asks for, or an
// *apperr.ValidationError outside 1..customers.MaxPageSize.
func pageSize(first *int) (int, error) {
	n := deref(first)
	if n < 1 || n > customers.MaxPageSize {
		return 0, apperr.Invalid("first", "INVALID", fmt.Sprintf("first must be between 1 and %d", customers.MaxPageSize))
	}
	return n, nil
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func mapAccountEvent(e events.Event) *model.AccountEvent {
	ev := &model.AccountEvent{ID: e.ID, Type: model.AccountEventType(e.Type), OccurredAt: e.OccurredAt}
	if v, ok := e.Data[events.KeyStatus]; ok {
		status := model.AccountStatus(v)
		ev.Status = &status
	}
	if v, ok := e.Data[events.KeyPreviousStatus]; ok {
		status := model.AccountStatus(v)
		ev.PreviousStatus = &status
	}
	if v := e.Data[events.KeyReason]; v != "" {
		ev.Reason = &v
	}
	return ev
}

// assistNode maps an assist session with its customer and operator.
func (r *Resolver) assistNode(ctx context.Context, a assist.Session) (*model.AssistSession, error) {
	c, err := r.CustomerService.Get(ctx, a.DomainID, a.CustomerID)
	if err != nil {
		return nil, err
	}
	op, err := r.OperatorService.Get(ctx, a.DomainID, a.OperatorID)
	if err != nil {
		return nil, err
	}
	node := &model.AssistSession{
		ID: globalID(typeAssist, a.ID), Customer: mapCustomer(c),
		Operator: &model.AssistingOperator{ID: globalID(typeOperator, op.ID), Name: op.Name},
		Reason:   a.Reason, State: model.AssistState(r.AssistService.Current(a)), StartedAt: a.StartedAt, ExpiresAt: a.ExpiresAt,
	}
	if !a.EndedAt.IsZero() {
		endedBy := assist.SystemActor
		if a.EndedBy == op.ID {
			endedBy = op.Name
		} else if other, err := r.OperatorService.Get(ctx, a.DomainID, a.EndedBy); err == nil {
			endedBy = other.Name
		}
		node.EndedAt, node.EndedBy = &a.EndedAt, &endedBy
	}
	return node, nil
}

// subscriptionBuffer is how many events a subscription may fall behind
// before it is ended; its client subscribes again.
const subscriptionBuffer = 16

// forward subscribes to the broker's events that filter accepts and returns
// a subscription resolver's channel of their mappings (skipping those mapping
// refuses), closed when the operation ends or the subscriber falls behind.
// It runs no goroutine of its own: each one costs memory at every socket.
func forward[T any](ctx context.Context, broker *events.Broker, filter func(events.Event) bool, mapping func(events.Event) (T, bool)) <-chan T {
	out := make(chan T, subscriptionBuffer)
	sub := broker.SubscribeFunc(filter, func(e events.Event) bool {
		v, ok := mapping(e)
		if !ok {
			return true
		}
		select {
		case out <- v:
			return true
		default:
			return false
		}
	}, func() { close(out) })
	context.AfterFunc(ctx, sub.Cancel)
	return out
}

// statusChange reads what a STATUS_CHANGED event's subscribers are sent.
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
		change.ChangedBy = &model.AssistingOperator{ID: globalID(typeOperator, op.ID), Name: op.Name}
	}
	return change, nil
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

// auditTypes are the global id types of audit targets that have one.
var auditTypes = map[string]string{"customer": typeCustomer, "operator": typeOperator, "device": typeDevice}

func mapAuditEntry(r audit.Record) *model.AuditEntry {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	e := &model.AuditEntry{ID: r.ID, At: r.At, ActorType: r.ActorType, Action: r.Action, TargetType: r.TargetType,
		Reason: opt(r.Reason), RequestID: opt(r.RequestID), Outcome: r.Outcome}
	if typ, ok := auditTypes[r.ActorType]; ok && r.ActorID != "" {
		e.ActorID = opt(globalID(typ, r.ActorID))
	}
	if r.ActingFor != "" {
		e.ActingFor = opt(globalID(typeCustomer, r.ActingFor))
	}
	if r.AssistID != "" {
		e.AssistSessionID = opt(globalID(typeAssist, r.AssistID))
	}
	if typ, ok := auditTypes[r.TargetType]; ok && r.TargetID != "" {
		e.TargetID = opt(globalID(typ, r.TargetID))
	} else {
		e.TargetID = opt(r.TargetID)
	}
	return e
}

// findAudit returns a page of the audit records q selects, after the
// position of the cursor after (from auditCursor), if given.
func (r *Resolver) findAudit(ctx context.Context, q audit.Query, first *int, after *string) ([]audit.Record, bool, error) {
	if after != nil {
		var c audit.Cursor
		if err := decodeCursorInto(*after, &c); err != nil || c.ID == "" {
			return nil, false, apperr.Invalid("after", "INVALID", "after is not a cursor returned by this API")
		}
		q.Before = &c
	}
	return r.AuditService.Find(ctx, q, deref(first))
}

// auditPage turns a page of audit records into edges, each with the cursor
// of its position, and the page's PageInfo.
func auditPage[E any](records []audit.Record, more bool, edge func(cursor string, rec audit.Record) E) ([]E, *model.PageInfo) {
	edges := make([]E, len(records))
	info := &model.PageInfo{HasNextPage: more}
	for i, rec := range records {
		cursor := encodeCursorOf(audit.Cursor{At: rec.At, ID: rec.ID})
		edges[i] = edge(cursor, rec)
		info.EndCursor = &cursor
	}
	return edges, info
}

// mapActivity shows an audit record to the customer it concerns: what, when
// and who in broad terms; reasons, request ids and operators stay internal.
func mapActivity(rec audit.Record) *model.AccountActivity {
	by := model.ActivityActorUnknown
	switch rec.ActorType {
	case audit.ActorCustomer:
		by = model.ActivityActorCustomer
	case audit.ActorOperator:
		by = model.ActivityActorSupport
	case audit.ActorSystem:
		by = model.ActivityActorSystem
	}
	return &model.AccountActivity{At: rec.At, Action: rec.Action, By: by, Outcome: rec.Outcome}
}
