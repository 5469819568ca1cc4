package resolvers

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
)

// RecordRefusal leaves the trace of a refused attempt (OWASP ASVS 16.3):
// for an operation refused as FORBIDDEN, an object of another domain or of
// another customer (answered as NOT_FOUND or null), or
// RATE_LIMITED, a warn-level log line (with the request id the logger
// carries) and, when the caller is signed in, an audit record of its domain
// that its ADMINs can filter by action (audit.ActionAuthzFail,
// audit.ActionRateLimited). Anything else is not a refusal and leaves
// nothing. The error presenter calls it for every error it answers;
// resolvers that answer another domain's object as null call it themselves.
// Failed sign-ins and lock-outs are recorded where they happen, in sessions.
func (r *Resolver) RecordRefusal(ctx context.Context, err error) {
	action := ""
	switch {
	case errors.Is(err, apperr.ErrForbidden), errors.Is(err, apperr.ErrOtherDomain), errors.Is(err, apperr.ErrOtherCustomer):
		action = audit.ActionAuthzFail
	case errors.Is(err, apperr.ErrRateLimited):
		action = audit.ActionRateLimited
	default:
		return
	}
	op := rootField(ctx)
	if op == "" {
		if oc := graphql.GetOperationContext(ctx); oc != nil && oc.Operation != nil {
			op = string(oc.Operation.Operation)
		}
	}
	zerolog.Ctx(ctx).Warn().Str("op", op).Str("refusal", action).Err(err).Msg("operation refused")
	if !hasToken(ctx) {
		return
	}
	p, perr := r.signedIn(ctx) // a session whose scope refused the operation is recorded too
	if perr != nil {
		return
	}
	rec := p.Actor().Record(action, audit.TargetOperation, op, refusalReason(err))
	rec.Outcome = audit.OutcomeFailure
	r.AuditService.Record(ctx, rec)
}

// refusalReason says what was refused, for the audit log, in words: no
// parser positions, no internal ids.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, apperr.ErrOtherDomain):
		return "an object of another domain"
	case errors.Is(err, apperr.ErrOtherCustomer):
		return "an object of another customer"
	case errors.Is(err, apperr.ErrRateLimited):
		return "too many attempts"
	}
	return "not permitted for the caller's role or session"
}
