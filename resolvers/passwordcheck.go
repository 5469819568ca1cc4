package resolvers

import (
	"context"
	"fmt"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
)

// ratePassword authorizes checkPassword for input.For (see PasswordFor in
// schema/passwords.graphqls), takes one rating from the caller's budget
// (the signed-in account's, or the client address's for SIGN_UP and
// OPERATOR_SETUP) and asks the service that owns the account.
func (r *Resolver) ratePassword(ctx context.Context, input model.CheckPasswordInput) (passwords.Assessment, error) {
	profile := customers.Profile{FirstName: deref(input.FirstName), LastName: deref(input.LastName), Email: deref(input.Email)}
	switch input.For {
	case model.PasswordForSignUp, model.PasswordForOperatorSetup:
		if err := r.takeRating(ctx, "client:"+audit.ClientBudgetKey(ctx)); err != nil {
			return passwords.Assessment{}, err
		}
		if input.For == model.PasswordForSignUp {
			return r.CustomerService.RateSignUpPassword(ctx, deref(input.Domain), profile, input.Password)
		}
		return r.OperatorService.RateSetupPassword(ctx, deref(input.SetupTicket), input.Password)
	case model.PasswordForSelf:
		p, err := r.principal(ctx)
		if err != nil {
			return passwords.Assessment{}, err
		}
		if err := r.takeRating(ctx, ratingKey(p)); err != nil {
			return passwords.Assessment{}, err
		}
		switch p.Kind {
		case sessions.KindCustomer:
			return r.CustomerService.RatePassword(ctx, p.DomainID, p.CustomerID, customers.Profile{}, input.Password)
		case sessions.KindOperator:
			return r.OperatorService.RatePassword(ctx, p.Actor(), input.Password)
		}
		return passwords.Assessment{}, fmt.Errorf("own password while assisting: %w", apperr.ErrForbidden)
	case model.PasswordForCustomer:
		perm, customerID := operators.PermEditCustomer, ""
		if input.CustomerID != nil {
			perm = operators.PermResetPassword
		}
		p, err := r.operator(ctx, perm)
		if err != nil {
			return passwords.Assessment{}, err
		}
		if input.CustomerID != nil {
			if customerID, err = idOf(typeCustomer, *input.CustomerID); err != nil {
				return passwords.Assessment{}, err
			}
		}
		if err := r.takeRating(ctx, ratingKey(p)); err != nil {
			return passwords.Assessment{}, err
		}
		return r.CustomerService.RatePassword(ctx, p.DomainID, customerID, profile, input.Password)
	}
	return passwords.Assessment{}, apperr.Invalid("for", "INVALID", "Say whose password it is: SIGN_UP, SELF, CUSTOMER or OPERATOR_SETUP.")
}

// ratingKey is the rating budget of p's account.
func ratingKey(p sessions.Principal) string {
	return "account:" + string(p.Kind) + ":" + p.OperatorID + ":" + p.CustomerID
}

// takeRating takes one rating from key's budget, or returns
// apperr.RetryAfter.
func (r *Resolver) takeRating(ctx context.Context, key string) error {
	if r.PasswordRatings == nil {
		return nil
	}
	if wait := r.PasswordRatings.Allow(key); wait > 0 {
		return fmt.Errorf("check password: %w", apperr.RetryAfter(wait))
	}
	return nil
}

// mapAssessment maps a to the payload; its refusal becomes the user error
// the mutation setting the password would give, on ["password"].
func mapAssessment(a passwords.Assessment) *model.CheckPasswordPayload {
	out := &model.CheckPasswordPayload{Acceptable: a.Acceptable(), Score: a.Score, MinScore: passwords.MinScore, MinLength: a.MinLength,
		Warning: a.Warning, Suggestions: append([]string{}, a.Suggestions...), UserErrors: []model.UserError{}}
	if !a.Acceptable() {
		msg := a.Message
		if a.Warning != "" {
			msg += " " + a.Warning + "."
		}
		out.UserErrors = []model.UserError{{Field: []string{"password"}, Message: msg, Code: model.UserErrorCode(a.Code)}}
	}
	return out
}

// setupTicketErrors puts CompleteSetup's errors on "ticket" on the input's
// setupTicket.
func setupTicketErrors(ues []model.UserError) []model.UserError {
	for i, e := range ues {
		if len(e.Field) == 1 && e.Field[0] == "ticket" {
			ues[i].Field = []string{"setupTicket"}
		}
	}
	return ues
}
