package resolvers

import (
	"time"

	"context"
	"errors"
	"slices"
	"strings"

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

func mapCustomer(c customers.Customer) *model.Customer {
	out := &model.Customer{
		ID: globalID(typeCustomer, c.ID), FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone,
		Status: model.AccountStatus(c.Status), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: int(c.Version),
	}
	if c.ExternalID != "" {
		out.ExternalID = &c.ExternalID
	}
	return out
}

func mapOperator(o operators.Operator, d domains.Domain) *model.Operator {
	perms := operators.Permissions(o.Role)
	out := make([]model.Permission, len(perms))
	for i, p := range perms {
		out[i] = model.Permission(p)
	}
	return &model.Operator{
		ID: globalID(typeOperator, o.ID), Name: o.Name, Email: o.Email, Role: model.OperatorRole(o.Role),
		Status: model.OperatorStatus(o.Status), SetupPending: o.SetupPending(), TotpEnabled: o.TOTPEnabled(), Permissions: out, Domain: mapDomain(d),
	}
}

func mapDevice(d devices.Device) model.Device {
	m := model.Device{
		ID: globalID(typeDevice, d.ID), Name: d.Name, Model: d.Model, SerialNumber: d.SerialNumber, Online: d.Online,
		Settings: &model.DeviceSettings{TargetTemperature: d.Settings.TargetTemperature, Mode: model.DeviceMode(d.Settings.Mode), Notifications: d.Settings.Notifications},
	}
	if d.MACAddress != "" {
		m.MacAddress = &d.MACAddress
	}
	return m
}

func mapDomain(d domains.Domain) *model.Domain {
	policy := model.SignUpPolicyClosed
	if d.SignUpIsOpen() {
		policy = model.SignUpPolicyOpen
	}
	return &model.Domain{ID: d.ID, Slug: d.Slug, Name: d.Name, DefaultRegion: d.DefaultRegion, SignUpPolicy: policy,
		RequireOperatorMfa: d.RequireOperatorMFA, AssistTTLSeconds: int(d.AssistTTL / time.Second), PasswordMinLength: d.PasswordMinLength,
		AssistConsent: model.AssistConsent(d.AssistConsent.OrDefault())}
}

// mapAssist maps an assist session; the resolvers of its customer, operator
// and endedBy read those, batched, when they are selected.
func (r *Resolver) mapAssist(a assist.Session) *model.AssistSession {
	node := &model.AssistSession{
		ID: globalID(typeAssist, a.ID), Reason: a.Reason, State: model.AssistState(r.AssistService.Current(a)),
		Mode: model.AssistMode(a.ModeNow()), StartedAt: a.StartedAt, ExpiresAt: a.ExpiresAt, Session: a,
	}
	if !a.EndedAt.IsZero() {
		node.EndedAt = &a.EndedAt
	}
	if req := a.Request; req.State != "" {
		node.Request = &model.AssistRequest{Mode: model.AssistMode(req.Mode), State: model.AssistRequestState(r.AssistService.RequestNow(a)),
			RequestedAt: req.At, ExpiresAt: req.ExpiresAt}
		if !req.AnsweredAt.IsZero() {
			node.Request.AnsweredAt = &req.AnsweredAt
		}
	}
	return node
}

// mapAssistingOperator shows an operator the way a customer may see it.
func mapAssistingOperator(o operators.Operator) *model.AssistingOperator {
	return &model.AssistingOperator{ID: globalID(typeOperator, o.ID), Name: o.Name}
}

// assistChanges are the records of what was done during an assistance,
// without the records of the assistance itself (its start, agreement,
// escalation and end: every assist_* action) and of attempts refused
// (they changed nothing; the audit log keeps them).
func assistChanges(records []audit.Record) []model.AccessChange {
	changes := []model.AccessChange{}
	for _, rec := range records {
		ownRecord := strings.HasPrefix(rec.Action, "assist_") // started, redeemed, requested, approved, ..., ended
		if !ownRecord && rec.Outcome == audit.OutcomeSuccess {
			changes = append(changes, model.AccessChange{Action: rec.Action, TargetType: rec.TargetType, At: rec.At})
		}
	}
	return changes
}

// userErrors turns the expected failures of a mutation into userErrors (a
// userError each for validation errors joined with errors.Join); any other
// error is returned to become a top-level error.
func userErrors(err error) ([]model.UserError, error) {
	var ve *apperr.ValidationError
	if joined, ok := err.(interface{ Unwrap() []error }); ok && errors.As(err, &ve) { // several bad fields: each
		var all []model.UserError
		for _, e := range joined.Unwrap() {
			ues, err := userErrors(e)
			if err != nil {
				return nil, err
			}
			all = append(all, ues...)
		}
		return all, nil
	}
	switch {
	case errors.As(err, &ve):
		return []model.UserError{{Field: strings.Split(ve.Field, "."), Message: ve.Message, Code: model.UserErrorCode(ve.Code)}}, nil
	case errors.Is(err, apperr.ErrInvalidCredentials):
		return []model.UserError{{Message: "The email or password is incorrect.", Code: model.UserErrorCodeInvalidCredentials}}, nil
	case errors.Is(err, apperr.ErrOperatorDisabled):
		return []model.UserError{{Message: apperr.ErrOperatorDisabled.Error(), Code: model.UserErrorCodeAccountDisabled}}, nil
	case errors.Is(err, apperr.ErrAccountDisabled):
		return []model.UserError{{Message: apperr.ErrAccountDisabled.Error(), Code: model.UserErrorCodeAccountDisabled}}, nil
	}
	return nil, err
}

// wrongSecret reports whether err is a wrong secret of a signed-in
// operator's check (its current password, a second-factor code), which
// counts against its allowance (sessions.ReserveSecretCheck).
func wrongSecret(err error) bool {
	var ve *apperr.ValidationError
	return errors.As(err, &ve) && (ve.Code == "WRONG_PASSWORD" || ve.Code == "INVALID_CODE")
}

// operatorNode maps o together with its domain.
func (r *Resolver) operatorNode(ctx context.Context, o operators.Operator) (*model.Operator, error) {
	d, err := r.DomainStore.DomainByID(ctx, o.DomainID)
	if err != nil {
		return nil, err
	}
	return mapOperator(o, d), nil
}

func mapAccountEvent(e events.Event) *model.AccountEvent {
	ev := &model.AccountEvent{ID: e.ID, Type: model.AccountEventType(e.Type), OccurredAt: e.OccurredAt, ByCustomer: e.ByCustomer()}
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

// auditTypes are the global id types of the audit actors and targets that
// have one (actor types share the names of the target types).
var auditTypes = map[string]string{audit.TargetCustomer: typeCustomer, audit.TargetOperator: typeOperator, audit.TargetDevice: typeDevice}

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

// mapActivity shows an audit record to the customer it concerns: what, when
// and who in broad terms (admin says which operators are ADMINs); reasons,
// request ids and operators stay internal.
func mapActivity(rec audit.Record, admin func(operatorID string) bool) *model.AccountActivity {
	return &model.AccountActivity{At: rec.At, Action: rec.Action, By: model.ActivityActor(audit.ActivityBy(rec, admin)), Outcome: rec.Outcome}
}

// adminsAmong returns which of the operators that did records are ADMINs of
// domainID now (their role today: records keep no role), read in one batch
// whatever the number of records. An operator that cannot be read counts as
// support.
func (r *Resolver) adminsAmong(ctx context.Context, domainID string, records []audit.Record) (func(operatorID string) bool, error) {
	var ids []string
	for _, rec := range records {
		if rec.ActorType == audit.ActorOperator && rec.ActorID != "" && !slices.Contains(ids, rec.ActorID) {
			ids = append(ids, rec.ActorID)
		}
	}
	if len(ids) == 0 {
		return func(string) bool { return false }, nil
	}
	batch, err := r.OperatorService.GetMany(ctx, domainID, ids)
	if err != nil {
		return nil, err
	}
	return func(id string) bool {
		o, err := batch.Get(id)
		return err == nil && o.Role == operators.RoleAdmin
	}, nil
}

// operatorCursor is a position in the operators list (email order).
type operatorCursor struct {
	Email string `json:"e"`
}

// setupPayload answers inviteOperator and reissueOperatorSetup: the
// operator and its setup link, or the userErrors of err.
func (r *Resolver) setupPayload(ctx context.Context, o operators.Operator, ticket string, err error) (*model.OperatorSetupPayload, error) {
	if err != nil {
		ues, err := userErrors(err)
		return &model.OperatorSetupPayload{UserErrors: ues}, err
	}
	node, err := r.operatorNode(ctx, o)
	if err != nil {
		return nil, err
	}
	url := r.ConsoleURL + "#setup=" + ticket
	return &model.OperatorSetupPayload{Operator: node, SetupURL: &url, UserErrors: []model.UserError{}}, nil
}
