package resolvers

import (
	"context"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/sessions"
)

// correctProfile applies ch to customer id of p's domain at version, for p
// (an operator's updateCustomer or the customer's own updateProfile, each
// authorized by its resolver), and returns the customer as it now is and
// whether anything changed, or the user errors of a refusal (the error
// userErrors gives with them).
func (r *Resolver) correctProfile(ctx context.Context, p sessions.Principal, id string, version int, ch customers.ProfileChange) (*model.Customer, bool, []model.UserError, error) {
	d, err := r.DomainStore.DomainByID(ctx, p.DomainID)
	if err != nil {
		return nil, false, nil, err
	}
	c, changed, err := r.CustomerService.UpdateProfile(ctx, p.Actor(), d, id, int64(version), ch)
	if err != nil {
		ues, err := userErrors(err)
		return nil, false, ues, err
	}
	return mapCustomer(c), changed, []model.UserError{}, nil
}
