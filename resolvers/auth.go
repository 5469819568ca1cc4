package resolvers

import (
	"context"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
)

type tokenKey struct{}

// WithToken returns ctx carrying the bearer token a request or WebSocket
// connection presented. The token is checked lazily, once per operation.
func WithToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// hasToken reports whether the request or connection presented a token.
func hasToken(ctx context.Context) bool {
	token, _ := ctx.Value(tokenKey{}).(string)
	return token != ""
}

type authKey struct{}

// authState memoizes one operation's authentication, so that a query asking
// for many fields checks its session once, and every operation (including each
// one sent over a long-lived WebSocket) checks it afresh.
type authState struct {
	once      sync.Once
	token     string
	principal sessions.Principal
	err       error

	mu     sync.Mutex
	opened map[string]*authState // a root field's response key -> the session it opened (adoptSession)
}

// forField returns the authentication of the field ctx resolves: the
// session its root field opened, when it opened one, else the operation's.
func (st *authState) forField(ctx context.Context) *authState {
	st.mu.Lock()
	defer st.mu.Unlock()
	if opened := st.opened[rootKey(ctx)]; opened != nil {
		return opened
	}
	return st
}

// AroundOperations starts a fresh authentication and fresh dataloaders for
// every operation. The server installs it with handler.AroundOperations.
func AroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	token, _ := ctx.Value(tokenKey{}).(string)
	return next(withLoaders(context.WithValue(ctx, authKey{}, &authState{token: token})))
}

// adoptSession has the payload of the root field being resolved read as the
// session token opens, which a mutation that signs in (or replaces the
// caller's session) returns: the fields of its payload that only that
// session may read ("login { customer { devices } }") are read as it, and,
// once the old session is replaced, not refused for the old one's end. The
// operation's other root fields run as the request's own session, under
// every rule of that session's requests (AroundRootFields: an assist
// ticket redeemed in a request without a token gives the fields after it
// no assistance to act in).
func adoptSession(ctx context.Context, token string) {
	st, ok := ctx.Value(authKey{}).(*authState)
	if !ok {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.opened == nil {
		st.opened = map[string]*authState{}
	}
	st.opened[rootKey(ctx)] = &authState{token: token}
}

// principal returns who the operation runs as, checked against the current
// state of the session and account. It returns apperr.ErrUnauthenticated
// without a valid session, apperr.ErrAccountDisabled for a disabled account,
// and a refusal for a root field the session's scope does not allow (a
// session that must change its password or set up a second factor first).
func (r *Resolver) principal(ctx context.Context) (sessions.Principal, error) {
	p, err := r.signedIn(ctx)
	if err != nil {
		return sessions.Principal{}, err
	}
	// A session opened to change a forced password may do that and sign out,
	// nothing else; one that must enrol a second factor, that; checked for
	// every root field of the operation.
	if p.Scope == sessions.ScopePasswordChange && !passwordChangeFields[rootField(ctx)] {
		return sessions.Principal{}, apperr.ErrPasswordChangeRequired
	}
	if p.Scope == sessions.ScopeMFAEnroll && !mfaEnrollFields[rootField(ctx)] {
		return sessions.Principal{}, fmt.Errorf("set up a second factor first (enrollTotp): %w", apperr.ErrForbidden)
	}
	return p, nil
}

// signedIn returns whose valid session the operation carries, whatever its
// scope allows (principal checks that): for the trace of a refusal. It
// authenticates once an operation.
func (r *Resolver) signedIn(ctx context.Context) (sessions.Principal, error) {
	st, ok := ctx.Value(authKey{}).(*authState)
	if !ok {
		return sessions.Principal{}, apperr.ErrUnauthenticated
	}
	st = st.forField(ctx)
	st.once.Do(func() {
		if st.token == "" {
			st.err = apperr.ErrUnauthenticated
			return
		}
		st.principal, st.err = r.SessionService.Authenticate(ctx, st.token)
		if st.err == nil {
			p := st.principal
			zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context {
				return c.Str("operator_id", p.OperatorID).Str("customer_id", p.CustomerID)
			})
		}
	})
	return st.principal, st.err
}

// mfaEnrollFields are what a ScopeMFAEnroll session may call.
var mfaEnrollFields = map[string]bool{"enrollTotp": true, "confirmTotp": true, "viewer": true, "logout": true}

// signedInOperator returns the signed-in operator (any role), or
// apperr.ErrForbidden for another kind of session.
func (r *Resolver) signedInOperator(ctx context.Context) (sessions.Principal, error) {
	p, err := r.principal(ctx)
	if err != nil {
		return sessions.Principal{}, err
	}
	if p.Kind != sessions.KindOperator {
		return sessions.Principal{}, fmt.Errorf("operator operation as %s: %w", p.Kind, apperr.ErrForbidden)
	}
	return p, nil
}

// operator returns the signed-in operator if its role grants perm. It returns
// apperr.ErrForbidden for a customer or an operator without perm.
func (r *Resolver) operator(ctx context.Context, perm operators.Permission) (sessions.Principal, error) {
	p, err := r.principal(ctx)
	if err != nil {
		return sessions.Principal{}, err
	}
	if !p.Can(perm) {
		return sessions.Principal{}, fmt.Errorf("%s: %w", perm, apperr.ErrForbidden)
	}
	// A domain that requires a second factor has no operator session not
	// opened with one: sessions.Service.Authenticate refuses them.
	return p, nil
}

// isMutation reports whether ctx's operation is a mutation.
func isMutation(ctx context.Context) bool {
	return graphql.HasOperationContext(ctx) && graphql.GetOperationContext(ctx).Operation.Operation == ast.Mutation
}

// passwordChangeFields are what a ScopePasswordChange session may call.
var passwordChangeFields = map[string]bool{"changePassword": true, "checkPassword": true, "logout": true}

// rootKey returns the response key (alias or name) of the root field being
// resolved, or "".
func rootKey(ctx context.Context) string {
	if rf := graphql.GetRootFieldContext(ctx); rf != nil && rf.Field.Field != nil {
		return rf.Field.Alias
	}
	return ""
}

// rootField returns the name of the root field being resolved, or "".
func rootField(ctx context.Context) string {
	if rf := graphql.GetRootFieldContext(ctx); rf != nil && rf.Field.Field != nil {
		return rf.Field.Name
	}
	return ""
}

// customer returns the signed-in customer, or the customer an operator
// assists. It returns apperr.ErrForbidden for operator sessions.
func (r *Resolver) customer(ctx context.Context) (sessions.Principal, error) {
	p, err := r.principal(ctx)
	if err != nil {
		return sessions.Principal{}, err
	}
	if p.Kind != sessions.KindCustomer && p.Kind != sessions.KindAssist {
		return sessions.Principal{}, fmt.Errorf("customer operation as %s: %w", p.Kind, apperr.ErrForbidden)
	}
	return p, nil
}

// customerDetails authorizes reading the details (devices, access history)
// of customer c: the customer itself (or who assists it), or an operator
// with VIEW_CUSTOMER. It returns the principal and the customer's id.
func (r *Resolver) customerDetails(ctx context.Context, c *model.Customer) (sessions.Principal, string, error) {
	p, err := r.principal(ctx)
	if err != nil {
		return sessions.Principal{}, "", err
	}
	customerID, err := idOf(typeCustomer, c.ID)
	if err != nil {
		return sessions.Principal{}, "", err
	}
	if p.CustomerID != customerID && !p.Can(operators.PermViewCustomer) {
		return sessions.Principal{}, "", fmt.Errorf("details of customer %s: %w", customerID, apperr.ErrForbidden)
	}
	return p, customerID, nil
}
