package assist

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/events"
)

// accountEnd returns why e ends the customer's sessions, and so its remote
// assistance: the account disabled or erased, a password set by support,
// or the customer's own new password. It returns "" for any other event.
func accountEnd(e events.Event) string {
	switch {
	case e.Type == events.StatusChanged && e.Data[events.KeyStatus] == string(customers.StatusDisabled):
		return "account disabled"
	case e.Type == events.CustomerDeleted:
		return "account deleted"
	case e.Type == events.PasswordReset:
		return "session ended by a password reset"
	case e.Type == events.SessionRevoked && e.Data[events.KeyKeepSession] != "":
		return "session ended by a password change"
	}
	return ""
}

// RevokeOnAccountEnd revokes (state REVOKED) every running assistance of a
// customer whose sessions end (see accountEnd), every one an operator runs
// when the operator's sessions end (events.OperatorAccessEnded: disabled,
// role lowered, password changed, setup reissued), and when a domain comes
// to require a second factor (events.SecondFactorRequired), every one run
// by an operator without one (whose sessions end with that event), as the
// events reach broker, until ctx ends. It subscribes before it returns, so no
// event published after the call is missed, and reacts in a goroutine of
// its own. Every instance runs it and reacts to every event: the first
// conditional update wins, the others change nothing.
func (s *Service) RevokeOnAccountEnd(ctx context.Context, broker *events.Broker) {
	relevant := func(e events.Event) bool {
		return accountEnd(e) != "" || e.Type == events.OperatorAccessEnded || e.Type == events.SecondFactorRequired
	}
	broker.React(ctx, relevant, func(e events.Event) {
		actor := audit.Actor{Type: audit.ActorSystem, ID: SystemActor, DomainID: e.DomainID}
		if e.Type == events.SecondFactorRequired {
			if err := s.endWithoutSecondFactor(ctx, actor); err != nil {
				zerolog.Ctx(ctx).Warn().Err(err).Str("domain_id", e.DomainID).Msg("revoke assistance")
			}
			return
		}
		filter, why := ActiveFilter{CustomerID: e.CustomerID}, accountEnd(e)
		filter.EpochBefore, _ = e.EndsBefore() // an assistance started after the change is not the event's
		if e.Type == events.OperatorAccessEnded {
			filter, why = ActiveFilter{OperatorID: e.Data[events.KeyOperatorID]}, "the operator's access ended: "+e.Data[events.KeyReason]
			filter.OperatorEpochBefore, _ = e.EndsBefore() // one started after the change is not the event's
		}
		if err := s.EndAll(ctx, actor, filter, StateRevoked, why); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("customer_id", e.CustomerID).Msg("revoke assistance")
		}
	})
}

// endWithoutSecondFactor revokes every running assistance of actor's domain
// whose operator has no second factor: its sessions were not opened with
// one, and end as the domain comes to require one.
func (s *Service) endWithoutSecondFactor(ctx context.Context, actor audit.Actor) error {
	running, err := s.store.ActiveAssists(ctx, ActiveFilter{DomainID: actor.DomainID})
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range running {
		op, err := s.store.OperatorByID(ctx, a.OperatorID)
		if err == nil && !op.TOTPEnabled() {
			_, err = s.End(ctx, actor, a, StateRevoked, "the domain now requires a second factor")
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// EndForSignOut ends what signing out ends: for an operator's own session,
// every assistance the operator runs; for an assist session (actor acting
// for a customer), that assistance.
func (s *Service) EndForSignOut(ctx context.Context, actor audit.Actor) error {
	if actor.Type != audit.ActorOperator {
		return nil
	}
	f := ActiveFilter{OperatorID: actor.ID}
	if actor.ActingFor != "" {
		f.CustomerID = actor.ActingFor
	}
	return s.EndAll(ctx, actor, f, StateEnded, "the operator signed out")
}

// EndBy ends assistance id of the actor's domain for an operator (actor):
// the operator who started it may, another operator only when
// mayEndOthers (the END_ANY_ASSIST permission). It returns the session as
// ended, apperr.ErrNotFound for an id of no assistance of the domain, and
// apperr.ErrForbidden for another operator's without mayEndOthers.
func (s *Service) EndBy(ctx context.Context, actor audit.Actor, mayEndOthers bool, id string) (Session, error) {
	a, err := s.Get(ctx, actor.DomainID, id)
	if err != nil {
		return Session{}, err
	}
	if a.OperatorID != actor.ID && !mayEndOthers {
		return Session{}, fmt.Errorf("end another operator's assistance %s: %w", id, apperr.ErrForbidden)
	}
	return s.End(ctx, actor, a, StateEnded, "ended by the operator")
}
