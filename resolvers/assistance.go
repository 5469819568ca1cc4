package resolvers

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/sessions"
)

// viewOnlyFields are the mutations a VIEW assistance may still make: sign
// its tab out, and ask the customer for control.
var viewOnlyFields = map[string]bool{"logout": true, "requestAssistControl": true}

// errViewOnly is what a VIEW assistance's mutations answer, whichever it
// is. It promises control only for what control allows (the devices), and
// does not say control would allow the mutation refused: the customer's
// password and its answers to assistance requests are the customer's own in
// every mode (a tryout read "to change the customer's devices" on a refused
// password change).
var errViewOnly = apperr.Forbidden("This assistance is view-only: it can look but not change anything. With control (Request control), the customer lets an assistance change its devices.")

// customersOwnFields are the mutations only the customer makes, in its own
// session: its password, its details, its account and its answers to
// assistance requests. An assistance of either mode is refused them with
// errCustomersOwn, which says so (a VIEW assistance's refusal promised what
// control gives, and a tryout read it as allowing these).
var customersOwnFields = map[string]bool{"changePassword": true, "updateProfile": true, "deleteAccount": true, "respondToAssistRequest": true}

var errCustomersOwn = apperr.Forbidden("Only the customer can do this, in its own session: an assistance cannot, with control or without.")

// AroundRootFields applies the rules of remote assistance to each root
// field of an operation made in an assist session: the customer's own
// mutations (customersOwnFields) and a VIEW assistance's (but logout and
// requestAssistControl) answer FORBIDDEN, and
// what a CONTROL assistance's mutations did (the notes their services add
// with audit.Note) is sent to the customer (ASSIST_ACTION). The server
// installs it with handler.AroundRootFields.
func (r *Resolver) AroundRootFields(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if !isMutation(ctx) || !hasToken(ctx) {
		return next(ctx)
	}
	p, err := r.principal(ctx)
	if err != nil || p.Kind != sessions.KindAssist {
		return next(ctx) // the field's resolver answers for a session that does not work
	}
	field := rootField(ctx)
	if customersOwnFields[field] {
		return refuseRootField(ctx, fmt.Errorf("%s in an assistance: %w", field, errCustomersOwn))
	}
	if viewOnlyFields[field] {
		return next(ctx)
	}
	a, err := r.AssistService.Get(ctx, p.DomainID, p.AssistID) // afresh: control given during the assistance applies at once
	if err != nil {
		return refuseRootField(ctx, err)
	}
	if a.ModeNow() == assist.ModeView {
		return refuseRootField(ctx, fmt.Errorf("%s in a view-only assistance: %w", field, errViewOnly))
	}
	notes := &audit.Notes{}
	out := next(audit.WithNotes(ctx, notes))
	if done := notes.Items(); len(done) > 0 {
		if err := r.AssistService.Acted(context.WithoutCancel(ctx), p.Actor(), done); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("op", field).Msg("assist action not announced")
		}
	}
	return out
}

// refuseRootField answers the root field being resolved with err, which
// carries the field's path and location as a resolver's error does (a root
// field's own context does not exist yet around it), and null.
func refuseRootField(ctx context.Context, err error) graphql.Marshaler {
	rf := graphql.GetRootFieldContext(ctx)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: rf.Object, Field: rf.Field})
	graphql.AddError(ctx, graphql.AddFieldLocationToError(ctx, err))
	return graphql.Null
}

// ownCustomer returns the signed-in customer in its own session (not an
// operator assisting it), or apperr.ErrForbidden.
func (r *Resolver) ownCustomer(ctx context.Context) (sessions.Principal, error) {
	p, err := r.principal(ctx)
	if err != nil {
		return sessions.Principal{}, err
	}
	if p.Kind != sessions.KindCustomer {
		return sessions.Principal{}, fmt.Errorf("the customer's own operation as %s: %w", p.Kind, apperr.ErrForbidden)
	}
	return p, nil
}

// assistChangeTypes are the events assistSessionChanged follows.
var assistChangeTypes = []events.Type{events.AssistRequested, events.AssistAnswered, events.AssistStarted, events.AssistEnded}

// ownSessionsOnly are the account events only the customer's own sessions
// get: an assisted tab is not asked for its own agreement, nor told what it
// just did.
var ownSessionsOnly = map[events.Type]bool{events.AssistRequested: true, events.AssistAnswered: true, events.AssistAction: true}

// accountEvent maps e for an accountEvents subscriber (the customer), with
// the assistance it is about (read as it now is) for ASSIST_* events, and
// without the reason of a status change. An assistance that
// cannot be read leaves assistSession null.
func (r *Resolver) accountEvent(ctx context.Context, e events.Event) *model.AccountEvent {
	ev := mapAccountEvent(e)
	if e.Type == events.StatusChanged {
		// The operator's reason is an internal note (SUPPORT operators
		// do not see it either, see statusChangeView): it stays in the
		// audit log, as it does out of the customer's activity.
		ev.Reason = nil
	}
	if id := e.Data[events.KeyAssistID]; id != "" {
		if a, err := r.AssistService.Get(ctx, e.DomainID, id); err == nil {
			ev.AssistSession = r.mapAssist(a)
		}
	}
	if m := e.Data[events.KeyMode]; m != "" && e.Type == events.AssistRequested {
		mode := model.AssistMode(m)
		ev.AssistMode = &mode
	}
	if action := e.Data[events.KeyAction]; action != "" {
		ev.Action = &action
	}
	return ev
}
