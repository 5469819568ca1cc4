package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/internal/tokens"
)

// start is where the tests' clocks begin, at the millisecond precision the store keeps.
var start = time.Date(2031, 3, 14, 9, 26, 53, 589e6, time.UTC)

// cheap keeps hashing fast; the argon2id parameters are not what is tested.
var cheap = passwords.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	password = "tulip-lantern-orbit-42"
	ttl      = 12 * time.Hour
)

// fixture is a session service on a real SQLite store: one domain with an
// ADMIN, a disabled SUPPORT operator, an active and a disabled customer,
// all with password, and a second domain.
type fixture struct {
	st        *sqlite.Store
	clk       *clock.Manual
	svc       *sessions.Service
	customers *customers.Service
	assists   *assist.Service

	domain, other  domains.Domain
	admin, retired operators.Operator
	ada, gone      customers.Customer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	f := &fixture{st: st, clk: clock.NewManual(start), domain: storetest.NewDomain(t, st), other: storetest.NewDomain(t, st)}
	hasher := passwords.NewHasher(cheap, 2, time.Second)
	policy, err := passwords.NewPolicy(passwords.DefaultMinLength)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = sessions.NewService(st, hasher, policy, f.clk.Now, ttl, sessions.WithFailureFloor(0))
	f.customers = customers.NewService(st, hasher, policy, f.clk.Now)
	f.assists = assist.NewService(st, f.clk.Now, assist.DefaultTTL)

	f.admin = f.newOperator(t, "Ann Admin", "ann@ops.example", operators.RoleAdmin, operators.StatusActive)
	f.retired = f.newOperator(t, "Rex Retired", "rex@ops.example", operators.RoleSupport, operators.StatusDisabled)
	f.ada = storetest.NewCustomer(f.domain, "Ada", "Lovelace", "ada@example.com", "")
	f.gone = storetest.NewCustomer(f.domain, "Gil", "Gone", "gil@example.com", "")
	f.gone.Status = customers.StatusDisabled
	for _, c := range []*customers.Customer{&f.ada, &f.gone} {
		c.PasswordHash = passwords.Encode(cheap, password)
	}
	if err := st.ImportCustomers(ctx, []customers.Customer{f.ada, f.gone}, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newOperator(t *testing.T, name, email string, role operators.Role, status operators.Status) operators.Operator {
	t.Helper()
	o := operators.Operator{ID: ids.New(), DomainID: f.domain.ID, Name: name, Email: email, Role: role, Status: status,
		PasswordHash: passwords.Encode(cheap, password), CreatedAt: f.clk.Now(), UpdatedAt: f.clk.Now()}
	if err := f.st.CreateOperator(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// adminActor is the ADMIN as the actor of customer changes.
func (f *fixture) adminActor() audit.Actor {
	return audit.Actor{Type: audit.ActorOperator, ID: f.admin.ID, DomainID: f.domain.ID}
}

func (f *fixture) operatorLogin(t *testing.T) string {
	t.Helper()
	res, err := f.svc.OperatorLogin(context.Background(), f.domain.Slug, f.admin.Email, password)
	if err != nil {
		t.Fatalf("operator sign-in: %v", err)
	}
	return res.Token
}

func (f *fixture) customerLogin(t *testing.T, pw string) string {
	t.Helper()
	token, _, err := f.svc.CustomerLogin(context.Background(), f.domain.Slug, f.ada.Email, pw)
	if err != nil {
		t.Fatalf("customer sign-in: %v", err)
	}
	return token
}

func (f *fixture) authenticate(t *testing.T, token string) sessions.Principal {
	t.Helper()
	p, err := f.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// latest returns the newest audit records of domainID with action, newest first.
func (f *fixture) latest(t *testing.T, domainID, action string) []audit.Record {
	t.Helper()
	records, err := f.st.FindAudit(context.Background(), audit.Query{DomainID: domainID, Action: action, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// gone is the context of a caller that has hung up. A refusal during
// back-off holds its answer for up to a second of wall time (the tarpit)
// unless the caller leaves, so refused attempts are made with it: the test
// never waits. Nothing but the refusal may use it: a sign-in that got past
// the back-off would fail on the store with context.Canceled instead.
func gone() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func wantInvalid(t *testing.T, what string, err error, field, code string) {
	t.Helper()
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) || ve.Field != field || ve.Code != code {
		t.Fatalf("%s: error %v, want %s on %s", what, err, code, field)
	}
}

func TestOperatorLoginOpensASessionForTheTTL(t *testing.T) {
	f := newFixture(t)
	signedInAt := f.clk.Now()
	// The domain and email are read as typed: any case, surrounding spaces.
	res, err := f.svc.OperatorLogin(context.Background(), " "+strings.ToUpper(f.domain.Slug), " ANN@ops.example ", password)
	token, op := res.Token, res.Operator
	if err != nil || op.ID != f.admin.ID || token == "" {
		t.Fatalf("OperatorLogin = %q, %+v, %v", token, op, err)
	}
	want := sessions.Principal{Kind: sessions.KindOperator, TokenHash: tokens.Hash(token), DomainID: f.domain.ID, OperatorID: f.admin.ID,
		Role: operators.RoleAdmin, DisplayName: f.admin.Name, ExpiresAt: signedInAt.Add(ttl)}
	if p := f.authenticate(t, token); p != want {
		t.Fatalf("principal %+v\nwant      %+v", p, want)
	}
	if recs := f.latest(t, f.domain.ID, audit.ActionLoginSuccess); len(recs) != 1 || recs[0].ActorID != f.admin.ID ||
		recs[0].TargetType != string(sessions.KindOperator) || !recs[0].At.Equal(signedInAt) {
		t.Fatalf("sign-in records: %+v", recs)
	}
}

func TestCustomerLoginScope(t *testing.T) {
	f := newFixture(t)
	p := f.authenticate(t, f.customerLogin(t, password))
	if p.Kind != sessions.KindCustomer || p.CustomerID != f.ada.ID || p.DisplayName != "Ada Lovelace" || p.Scope != sessions.ScopeFull ||
		p.OperatorID != "" || !p.ExpiresAt.Equal(f.clk.Now().Add(ttl)) {
		t.Fatalf("customer principal: %+v", p)
	}
	// After a reset that asks for a new password, the next session may only change it.
	const next = "violet-harbor-canyon-93"
	if _, err := f.customers.ResetPassword(context.Background(), f.adminActor(), f.ada.ID, next, next, true); err != nil {
		t.Fatal(err)
	}
	if p := f.authenticate(t, f.customerLogin(t, next)); p.Scope != sessions.ScopePasswordChange {
		t.Fatalf("scope after a reset with requireChange: %q, want %q", p.Scope, sessions.ScopePasswordChange)
	}
}

func TestSignInRefusals(t *testing.T) {
	type login func(f *fixture, domain, email, pw string) error
	operator := func(f *fixture, domain, email, pw string) error {
		_, err := f.svc.OperatorLogin(context.Background(), domain, email, pw)
		return err
	}
	customer := func(f *fixture, domain, email, pw string) error {
		_, _, err := f.svc.CustomerLogin(context.Background(), domain, email, pw)
		return err
	}
	tests := []struct {
		name          string
		login         login
		domain, email func(f *fixture) string
		password      string
		want          error
		// the failure record: in which domain, about whom ("" for nobody), why
		recordDomain, recordTarget func(f *fixture) string
		reason                     string
	}{
		{"operator, wrong password", operator, slug, adminEmail, "wrong-password-1234", apperr.ErrInvalidCredentials,
			domainID, adminID, "wrong password"},
		{"operator, unknown email", operator, slug, fixed("nobody@ops.example"), password, apperr.ErrInvalidCredentials,
			domainID, fixed(""), "unknown account"},
		{"operator, unknown domain", operator, fixed("no-such-domain"), adminEmail, password, apperr.ErrInvalidCredentials,
			fixed(""), fixed(""), "unknown account"},
		{"operator, another domain", operator, otherSlug, adminEmail, password, apperr.ErrInvalidCredentials,
			otherID, fixed(""), "unknown account"},
		{"operator, a customer's email", operator, slug, adaEmail, password, apperr.ErrInvalidCredentials,
			domainID, fixed(""), "unknown account"},
		{"operator disabled, right password", operator, slug, retiredEmail, password, apperr.ErrAccountDisabled,
			domainID, retiredID, "account disabled"},
		{"operator disabled, wrong password", operator, slug, retiredEmail, "wrong-password-1234", apperr.ErrInvalidCredentials,
			domainID, retiredID, "wrong password"},
		{"customer, wrong password", customer, slug, adaEmail, "wrong-password-1234", apperr.ErrInvalidCredentials,
			domainID, adaID, "wrong password"},
		{"customer, an operator's email", customer, slug, adminEmail, password, apperr.ErrInvalidCredentials,
			domainID, fixed(""), "unknown account"},
		{"customer disabled, right password", customer, slug, goneEmail, password, apperr.ErrAccountDisabled,
			domainID, goneID, "account disabled"},
		{"customer disabled, wrong password", customer, slug, goneEmail, "wrong-password-1234", apperr.ErrInvalidCredentials,
			domainID, goneID, "wrong password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			err := tt.login(f, tt.domain(f), tt.email(f), tt.password)
			wantErr(t, "sign-in", err, tt.want)
			recs := f.latest(t, tt.recordDomain(f), audit.ActionLoginFail)
			if len(recs) != 1 || recs[0].TargetID != tt.recordTarget(f) || recs[0].Reason != tt.reason ||
				recs[0].Outcome != audit.OutcomeFailure || recs[0].ActorType != audit.ActorAnonymous || !recs[0].At.Equal(f.clk.Now()) {
				t.Fatalf("failure records: %+v; want one about %q for %q", recs, tt.recordTarget(f), tt.reason)
			}
			if ok := f.latest(t, f.domain.ID, audit.ActionLoginSuccess); len(ok) != 0 {
				t.Fatalf("a refused sign-in opened a session: %+v", ok)
			}
		})
	}
}

func fixed(s string) func(*fixture) string { return func(*fixture) string { return s } }
func slug(f *fixture) string               { return f.domain.Slug }
func otherSlug(f *fixture) string          { return f.other.Slug }
func domainID(f *fixture) string           { return f.domain.ID }
func otherID(f *fixture) string            { return f.other.ID }
func adminEmail(f *fixture) string         { return f.admin.Email }
func adminID(f *fixture) string            { return f.admin.ID }
func retiredEmail(f *fixture) string       { return f.retired.Email }
func retiredID(f *fixture) string          { return f.retired.ID }
func adaEmail(f *fixture) string           { return f.ada.Email }
func adaID(f *fixture) string              { return f.ada.ID }
func goneEmail(f *fixture) string          { return f.gone.Email }
func goneID(f *fixture) string             { return f.gone.ID }

func TestSessionExpiresAtItsTTL(t *testing.T) {
	for _, tt := range []struct {
		name  string
		login func(f *fixture, t *testing.T) string
	}{
		{"operator", func(f *fixture, t *testing.T) string { return f.operatorLogin(t) }},
		{"customer", func(f *fixture, t *testing.T) string { return f.customerLogin(t, password) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			expires := f.clk.Now().Add(ttl)
			token := tt.login(f, t)
			f.clk.Set(expires.Add(-time.Millisecond))
			if p := f.authenticate(t, token); !p.ExpiresAt.Equal(expires) {
				t.Fatalf("principal expires at %v, want %v", p.ExpiresAt, expires)
			}
			f.clk.Set(expires)
			_, err := f.svc.Authenticate(context.Background(), token)
			wantErr(t, "at the session's expiry", err, apperr.ErrUnauthenticated)
			f.clk.Advance(time.Hour)
			_, err = f.svc.Authenticate(context.Background(), token)
			wantErr(t, "an hour after the session's expiry", err, apperr.ErrUnauthenticated)
		})
	}
}

func TestSweepExpiredDeletesOnlyExpiredSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	early := f.operatorLogin(t)
	earlyExpiry := f.clk.Now().Add(ttl)
	f.clk.Advance(time.Hour)
	late := f.customerLogin(t, password)

	if n, err := f.svc.SweepExpired(ctx); err != nil || n != 0 {
		t.Fatalf("sweep before any expiry = %d, %v; want 0", n, err)
	}
	f.clk.Set(earlyExpiry.Add(time.Millisecond))
	if n, err := f.svc.SweepExpired(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the first expiry = %d, %v; want 1", n, err)
	}
	if _, err := f.st.SessionByHash(ctx, tokens.Hash(early)); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("the expired session is still stored: %v", err)
	}
	f.authenticate(t, late)
	if n, err := f.svc.SweepExpired(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	ctx := context.Background()
	// direct stores a live session of kind for subject, as no sign-in would.
	direct := func(f *fixture, kind sessions.Kind, subject string) string {
		token := tokens.New()
		s := sessions.Session{TokenHash: tokens.Hash(token), Kind: kind, DomainID: f.domain.ID, SubjectID: subject,
			CreatedAt: f.clk.Now(), ExpiresAt: f.clk.Now().Add(ttl)}
		if err := f.st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		return token
	}
	tests := []struct {
		name string
		// session returns a token that worked, after what happened to it
		session func(t *testing.T, f *fixture) string
		want    error
	}{
		{"unknown token", func(t *testing.T, f *fixture) string { return tokens.New() }, apperr.ErrUnauthenticated},
		{"signed out", func(t *testing.T, f *fixture) string {
			token := f.customerLogin(t, password)
			if err := f.svc.Logout(ctx, f.authenticate(t, token)); err != nil {
				t.Fatal(err)
			}
			return token
		}, apperr.ErrUnauthenticated},
		{"revoked because the account was disabled", func(t *testing.T, f *fixture) string {
			token := f.customerLogin(t, password)
			if err := f.st.RevokeSession(ctx, tokens.Hash(token), sessions.RevokedAccountDisabled, f.clk.Now()); err != nil {
				t.Fatal(err)
			}
			return token
		}, apperr.ErrAccountDisabled},
		{"customer disabled", func(t *testing.T, f *fixture) string {
			token := f.customerLogin(t, password)
			if _, _, err := f.customers.SetStatus(ctx, f.adminActor(), f.ada.ID, customers.StatusDisabled, "chargeback"); err != nil {
				t.Fatal(err)
			}
			return token
		}, apperr.ErrAccountDisabled},
		{"customer disabled, then enabled again", func(t *testing.T, f *fixture) string {
			token := f.customerLogin(t, password)
			for _, s := range []customers.Status{customers.StatusDisabled, customers.StatusActive} {
				if _, _, err := f.customers.SetStatus(ctx, f.adminActor(), f.ada.ID, s, "chargeback"); err != nil {
					t.Fatal(err)
				}
			}
			return token
		}, apperr.ErrUnauthenticated},
		{"password reset by support", func(t *testing.T, f *fixture) string {
			token := f.customerLogin(t, password)
			const next = "violet-harbor-canyon-93"
			if _, err := f.customers.ResetPassword(ctx, f.adminActor(), f.ada.ID, next, next, false); err != nil {
				t.Fatal(err)
			}
			return token
		}, apperr.ErrUnauthenticated},
		{"operator disabled", func(t *testing.T, f *fixture) string {
			return direct(f, sessions.KindOperator, f.retired.ID)
		}, apperr.ErrAccountDisabled},
		{"operator gone", func(t *testing.T, f *fixture) string {
			return direct(f, sessions.KindOperator, ids.New())
		}, apperr.ErrUnauthenticated},
		{"customer gone", func(t *testing.T, f *fixture) string {
			return direct(f, sessions.KindCustomer, ids.New())
		}, apperr.ErrUnauthenticated},
		{"unknown kind", func(t *testing.T, f *fixture) string {
			return direct(f, "robot", f.admin.ID)
		}, apperr.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			token := tt.session(t, f)
			p, err := f.svc.Authenticate(ctx, token)
			wantErr(t, "Authenticate", err, tt.want)
			if p != (sessions.Principal{}) {
				t.Fatalf("a refused token gave a principal: %+v", p)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	token := f.operatorLogin(t)
	other := f.operatorLogin(t) // the same operator on another computer
	p := f.authenticate(t, token)
	if err := f.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Authenticate(ctx, token)
	wantErr(t, "after signing out", err, apperr.ErrUnauthenticated)
	f.authenticate(t, other)

	if recs := f.latest(t, f.domain.ID, audit.ActionLogout); len(recs) != 1 || recs[0].ActorID != f.admin.ID ||
		recs[0].TargetID != f.admin.ID || recs[0].TargetType != string(sessions.KindOperator) || !recs[0].At.Equal(f.clk.Now()) {
		t.Fatalf("sign-out records: %+v", recs)
	}
	evs, err := f.st.RecentEvents(ctx, f.domain.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != events.SessionRevoked || evs[0].Data["session"] != p.TokenHash || evs[0].Data["reason"] != "logout" ||
		evs[0].CustomerID != "" || evs[0].ActorID != f.admin.ID {
		t.Fatalf("events of the sign-out: %+v", evs)
	}
	if err := f.svc.Logout(ctx, p); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
}

func TestSignInBackOffPerAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	login := func(ctx context.Context, pw string) error {
		_, err := f.svc.OperatorLogin(ctx, f.domain.Slug, f.admin.Email, pw)
		return err
	}
	locks := func() []audit.Record { return f.latest(t, f.domain.ID, audit.ActionLoginLock) }
	for i := range 4 {
		wantErr(t, fmt.Sprintf("free failure %d", i+1), login(ctx, "wrong-password-1234"), apperr.ErrInvalidCredentials)
	}
	if l := locks(); len(l) != 0 {
		t.Fatalf("locked within the free failures: %+v", l)
	}

	// The fifth failure (the last free one) starts a back-off of a second,
	// for the right password too: the sixth attempt at once is refused.
	wantErr(t, "fifth failure", login(ctx, "wrong-password-1234"), apperr.ErrInvalidCredentials)
	if l := locks(); len(l) != 1 || l[0].TargetType != string(sessions.KindOperator) || l[0].TargetID != f.admin.ID ||
		!strings.HasSuffix(l[0].Reason, "next attempt in 1s") {
		t.Fatalf("lock-out records: %+v", l)
	}
	wantErr(t, "during the back-off", login(gone(), password), apperr.ErrRateLimited)
	f.clk.Advance(time.Second - time.Millisecond)
	wantErr(t, "at the back-off's last instant", login(gone(), password), apperr.ErrRateLimited)
	// Other accounts sign in meanwhile.
	f.customerLogin(t, password)

	// The back-off ends at its exact end; a further failure doubles it.
	f.clk.Advance(time.Millisecond)
	wantErr(t, "sixth failure", login(ctx, "wrong-password-1234"), apperr.ErrInvalidCredentials)
	if l := locks(); len(l) != 2 || !strings.HasSuffix(l[0].Reason, "next attempt in 2s") {
		t.Fatalf("lock-out records: %+v", l)
	}
	f.clk.Advance(2*time.Second - time.Millisecond)
	wantErr(t, "during the second back-off", login(gone(), password), apperr.ErrRateLimited)
	f.clk.Advance(time.Millisecond)
	if err := login(ctx, password); err != nil {
		t.Fatalf("after the second back-off: %v", err)
	}

	// A success forgets the failures: five are free again (the fifth
	// starting a back-off).
	for i := range 4 {
		wantErr(t, fmt.Sprintf("free failure %d after a success", i+1), login(ctx, "wrong-password-1234"), apperr.ErrInvalidCredentials)
	}
	if err := login(ctx, password); err != nil {
		t.Fatalf("after four failures following a success: %v", err)
	}
	if l := locks(); len(l) != 2 {
		t.Fatalf("lock-out records: %+v", l)
	}
}

func TestSignInBackOffPerClientAddress(t *testing.T) {
	f := newFixture(t)
	const addr = "198.51.100.7"
	from := func(ctx context.Context, addr string) context.Context { return audit.WithClientAddr(ctx, addr) }
	// Twenty failures from one address, four to each of five accounts:
	// within every account's allowance; the twentieth spends the address's
	// budget.
	var ops []operators.Operator
	for i := range 5 {
		ops = append(ops, f.newOperator(t, fmt.Sprintf("Op %d", i), fmt.Sprintf("op%d@ops.example", i), operators.RoleSupport, operators.StatusActive))
	}
	for n := range 20 {
		if n == 19 {
			if l := f.latest(t, f.domain.ID, audit.ActionLoginLock); len(l) != 0 {
				t.Fatalf("locked within the budget: %+v", l)
			}
		}
		_, err := f.svc.OperatorLogin(from(context.Background(), addr), f.domain.Slug, ops[n%5].Email, "wrong-password-1234")
		wantErr(t, fmt.Sprintf("failure %d", n+1), err, apperr.ErrInvalidCredentials)
	}
	if l := f.latest(t, f.domain.ID, audit.ActionLoginLock); len(l) != 1 || l[0].TargetType != audit.TargetClientAddress || l[0].TargetID != addr ||
		!strings.HasSuffix(l[0].Reason, "next attempt in 30s") {
		t.Fatalf("lock-out records: %+v", l)
	}
	_, err := f.svc.OperatorLogin(from(gone(), addr), f.domain.Slug, f.admin.Email, password)
	wantErr(t, "from the address without budget", err, apperr.ErrRateLimited)
	if _, err := f.svc.OperatorLogin(from(context.Background(), "203.0.113.9"), f.domain.Slug, f.admin.Email, password); err != nil {
		t.Fatalf("from another address: %v", err)
	}
	// The budget refills one failure every 30 s; a stuffing run that goes
	// on is held to that pace, and its wait never grows.
	for i := range 3 {
		f.clk.Advance(30*time.Second - time.Millisecond)
		_, _, err := f.svc.CustomerLogin(from(gone(), addr), f.domain.Slug, f.ada.Email, password)
		wantErr(t, "just before the refill", err, apperr.ErrRateLimited)
		f.clk.Advance(time.Millisecond)
		_, _, err = f.svc.CustomerLogin(from(context.Background(), addr), f.domain.Slug, fmt.Sprintf("stranger%d@example.com", i), "wrong-password-1234")
		wantErr(t, "a failure at the refill", err, apperr.ErrInvalidCredentials)
		if l := f.latest(t, f.domain.ID, audit.ActionLoginLock); len(l) != i+2 || !strings.HasSuffix(l[0].Reason, "next attempt in 30s") {
			t.Fatalf("lock-out records: %+v", l)
		}
	}
	f.clk.Advance(30 * time.Second)
	if _, err := f.svc.OperatorLogin(from(context.Background(), addr), f.domain.Slug, f.admin.Email, password); err != nil {
		t.Fatalf("from the address after the refill: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const given, chosen = "violet-harbor-canyon-93", "my-own-secret-meadow-7"
	if _, err := f.customers.ResetPassword(ctx, f.adminActor(), f.ada.ID, given, given, true); err != nil {
		t.Fatal(err)
	}
	limited := f.customerLogin(t, given)
	elsewhere := f.customerLogin(t, given) // the app on the customer's phone
	p := f.authenticate(t, limited)

	token, c, err := f.svc.ChangePassword(ctx, p, given, chosen)
	if err != nil || c.MustChangePassword || c.ID != f.ada.ID {
		t.Fatalf("ChangePassword = %+v, %v", c, err)
	}
	if np := f.authenticate(t, token); np.Scope != sessions.ScopeFull || np.CustomerID != f.ada.ID || !np.ExpiresAt.Equal(f.clk.Now().Add(ttl)) {
		t.Fatalf("the new session: %+v", np)
	}
	for _, old := range []string{limited, elsewhere} {
		_, err := f.svc.Authenticate(ctx, old)
		wantErr(t, "a session from before the change", err, apperr.ErrUnauthenticated)
	}
	_, _, err = f.svc.CustomerLogin(ctx, f.domain.Slug, f.ada.Email, given)
	wantErr(t, "the replaced password", err, apperr.ErrInvalidCredentials)
	f.customerLogin(t, chosen)

	if recs := f.latest(t, f.domain.ID, audit.ActionPasswordChange); len(recs) != 1 || recs[0].ActorID != f.ada.ID ||
		recs[0].ActorType != audit.ActorCustomer || recs[0].Outcome != audit.OutcomeSuccess {
		t.Fatalf("password change records: %+v", recs)
	}
	evs, err := f.st.RecentEvents(ctx, f.domain.ID, 10)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v, %v", evs, err)
	}
	if e := evs[0]; e.Type != events.SessionRevoked || e.CustomerID != f.ada.ID || e.Data["keep"] != tokens.Hash(token) {
		t.Fatalf("the change's event: %+v; want SESSION_REVOKED keeping the new session", e)
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name            string
		principal       func(t *testing.T, f *fixture) sessions.Principal
		current, next   string
		want            error // or, when nil, a *apperr.ValidationError:
		field, code     string
		recordedFailure bool
	}{
		{name: "an operator", principal: func(t *testing.T, f *fixture) sessions.Principal { return f.authenticate(t, f.operatorLogin(t)) },
			current: password, next: "my-own-secret-meadow-7", want: apperr.ErrForbidden},
		{name: "an assisting operator", principal: func(t *testing.T, f *fixture) sessions.Principal {
			p := f.authenticate(t, f.customerLogin(t, password))
			p.Kind, p.OperatorID, p.AssistID = sessions.KindAssist, f.admin.ID, ids.New()
			return p
		}, current: password, next: "my-own-secret-meadow-7", want: apperr.ErrForbidden},
		{name: "wrong current password", current: "wrong-password-1234", next: "my-own-secret-meadow-7",
			field: "currentPassword", code: "INVALID_CREDENTIALS", recordedFailure: true},
		{name: "too short", current: password, next: "short", field: "newPassword", code: "TOO_SHORT"},
		{name: "common", current: password, next: "123qweasdzxc", field: "newPassword", code: "COMMON_PASSWORD"},
		{name: "the email", current: password, next: "Ada@Example.com", field: "newPassword", code: "MATCHES_ACCOUNT"},
		{name: "the name", current: password, next: "ada lovelace", field: "newPassword", code: "MATCHES_ACCOUNT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			token := f.customerLogin(t, password)
			p := f.authenticate(t, token)
			if tt.principal != nil {
				p = tt.principal(t, f)
			}
			_, _, err := f.svc.ChangePassword(ctx, p, tt.current, tt.next)
			if tt.want != nil {
				wantErr(t, "ChangePassword", err, tt.want)
			} else {
				wantInvalid(t, "ChangePassword", err, tt.field, tt.code)
			}
			// Nothing changed: the session works, the password is the same.
			f.authenticate(t, token)
			f.customerLogin(t, password)
			recs := f.latest(t, f.domain.ID, audit.ActionPasswordChange)
			if tt.recordedFailure != (len(recs) == 1) || len(recs) > 1 || (len(recs) == 1 && recs[0].Outcome != audit.OutcomeFailure) {
				t.Fatalf("password change records: %+v", recs)
			}
		})
	}
}

func TestChangePasswordBacksOffAfterWrongCurrentPasswords(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.authenticate(t, f.customerLogin(t, password))
	const next = "my-own-secret-meadow-7"
	for i := range 5 { // the fifth starts the back-off
		_, _, err := f.svc.ChangePassword(ctx, p, "wrong-password-1234", next)
		wantInvalid(t, fmt.Sprintf("wrong current password %d", i+1), err, "currentPassword", "INVALID_CREDENTIALS")
	}
	if l := f.latest(t, f.domain.ID, audit.ActionLoginLock); len(l) != 1 || l[0].TargetID != f.ada.ID ||
		l[0].TargetType != string(sessions.KindCustomer) || !strings.HasSuffix(l[0].Reason, "next attempt in 1s") {
		t.Fatalf("lock-out records: %+v", l)
	}
	_, _, err := f.svc.ChangePassword(gone(), p, password, next)
	wantErr(t, "the right current password during the back-off", err, apperr.ErrRateLimited)
	f.clk.Advance(time.Second)
	if _, _, err := f.svc.ChangePassword(ctx, p, password, next); err != nil {
		t.Fatalf("after the back-off: %v", err)
	}
}

// startAssist starts a remote assistance of Ada by the ADMIN, signed in (an
// assistance works while its operator is), and returns it with its ticket.
func (f *fixture) startAssist(t *testing.T, svc *assist.Service) (assist.Session, string) {
	t.Helper()
	if _, _, err := f.svc.OperatorSignIn(context.Background(), f.admin, false); err != nil {
		t.Fatal(err)
	}
	a, ticket, err := svc.Start(context.Background(), f.adminActor(), f.ada.ID, "thermostat offline")
	if err != nil {
		t.Fatal(err)
	}
	return a, ticket
}

func TestRedeemAssistTicket(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, ticket := f.startAssist(t, f.assists)
	f.clk.Advance(assist.TicketTTL - time.Millisecond) // the ticket's last instant
	token, got, err := f.svc.RedeemAssistTicket(ctx, ticket)
	if err != nil || got.ID != a.ID {
		t.Fatalf("RedeemAssistTicket = %+v, %v", got, err)
	}
	p := f.authenticate(t, token)
	want := sessions.Principal{Kind: sessions.KindAssist, TokenHash: tokens.Hash(token), DomainID: f.domain.ID, OperatorID: f.admin.ID,
		CustomerID: f.ada.ID, DisplayName: "Ada Lovelace", AssistID: a.ID, ExpiresAt: a.ExpiresAt}
	if p != want {
		t.Fatalf("assist principal %+v\nwant           %+v", p, want)
	}
	if recs := f.latest(t, f.domain.ID, audit.ActionAssistRedeemed); len(recs) != 1 || recs[0].ActorID != f.admin.ID ||
		recs[0].ActingFor != f.ada.ID || recs[0].AssistID != a.ID {
		t.Fatalf("redeem records: %+v", recs)
	}
	_, _, err = f.svc.RedeemAssistTicket(ctx, ticket)
	wantInvalid(t, "the same ticket again", err, "ticket", "INVALID")

	// The assist session lasts as long as the assistance, not a session's TTL.
	f.clk.Set(a.ExpiresAt.Add(-time.Millisecond))
	f.authenticate(t, token)
	f.clk.Set(a.ExpiresAt)
	_, err = f.svc.Authenticate(ctx, token)
	wantErr(t, "at the assistance's end", err, apperr.ErrUnauthenticated)
}

func TestRedeemAssistTicketRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// ticket returns a ticket of an assistance of Ada, after what happened to it
		ticket func(t *testing.T, f *fixture) string
	}{
		{"unknown ticket", func(t *testing.T, f *fixture) string { return tokens.New() }},
		{"ticket at its TTL", func(t *testing.T, f *fixture) string {
			_, ticket := f.startAssist(t, f.assists)
			f.clk.Advance(assist.TicketTTL)
			return ticket
		}},
		{"assistance ended", func(t *testing.T, f *fixture) string {
			a, ticket := f.startAssist(t, f.assists)
			if _, err := f.assists.End(ctx, f.adminActor(), a, assist.StateEnded, "done"); err != nil {
				t.Fatal(err)
			}
			return ticket
		}},
		{"assistance expired before its ticket", func(t *testing.T, f *fixture) string {
			short := assist.NewService(f.st, f.clk.Now, assist.TicketTTL/2)
			_, ticket := f.startAssist(t, short)
			f.clk.Advance(assist.TicketTTL / 2)
			return ticket
		}},
		{"customer disabled", func(t *testing.T, f *fixture) string {
			_, ticket := f.startAssist(t, f.assists)
			if _, _, err := f.customers.SetStatus(ctx, f.adminActor(), f.ada.ID, customers.StatusDisabled, "chargeback"); err != nil {
				t.Fatal(err)
			}
			return ticket
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			token, _, err := f.svc.RedeemAssistTicket(ctx, tt.ticket(t, f))
			wantInvalid(t, "RedeemAssistTicket", err, "ticket", "INVALID")
			if token != "" {
				t.Fatalf("a refused ticket gave a token")
			}
			if recs := f.latest(t, f.domain.ID, audit.ActionAssistRedeemed); len(recs) != 0 {
				t.Fatalf("redeem records: %+v", recs)
			}
		})
	}
}

func TestAssistSessionEndsWithTheAssistance(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		end  func(t *testing.T, f *fixture, a assist.Session)
	}{
		{"ended by the operator", func(t *testing.T, f *fixture, a assist.Session) {
			if _, err := f.assists.End(ctx, f.adminActor(), a, assist.StateEnded, "done"); err != nil {
				t.Fatal(err)
			}
		}},
		{"expired", func(t *testing.T, f *fixture, a assist.Session) { f.clk.Set(a.ExpiresAt) }},
		{"customer disabled", func(t *testing.T, f *fixture, a assist.Session) {
			if _, _, err := f.customers.SetStatus(ctx, f.adminActor(), f.ada.ID, customers.StatusDisabled, "chargeback"); err != nil {
				t.Fatal(err)
			}
		}},
		{"password reset", func(t *testing.T, f *fixture, a assist.Session) {
			const next = "violet-harbor-canyon-93"
			if _, err := f.customers.ResetPassword(ctx, f.adminActor(), f.ada.ID, next, next, false); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a, ticket := f.startAssist(t, f.assists)
			token, _, err := f.svc.RedeemAssistTicket(ctx, ticket)
			if err != nil {
				t.Fatal(err)
			}
			p := f.authenticate(t, token)
			tt.end(t, f, a)
			_, err = f.svc.Authenticate(ctx, token)
			wantErr(t, "Authenticate", err, apperr.ErrUnauthenticated)
			_, _, err = f.svc.ChangePassword(ctx, p, password, "my-own-secret-meadow-7")
			wantErr(t, "an assist session changing the password", err, apperr.ErrForbidden)
		})
	}
}

func TestPrincipal(t *testing.T) {
	const dom, op, cust, as = "dom", "op", "cust", "assist"
	tests := []struct {
		p     sessions.Principal
		actor audit.Actor
		can   []operators.Permission // of PermSearchCustomers, PermSetAccountStatus
	}{
		{sessions.Principal{Kind: sessions.KindOperator, DomainID: dom, OperatorID: op, Role: operators.RoleAdmin},
			audit.Actor{Type: audit.ActorOperator, ID: op, DomainID: dom},
			[]operators.Permission{operators.PermSearchCustomers, operators.PermSetAccountStatus}},
		{sessions.Principal{Kind: sessions.KindOperator, DomainID: dom, OperatorID: op, Role: operators.RoleSupport},
			audit.Actor{Type: audit.ActorOperator, ID: op, DomainID: dom},
			[]operators.Permission{operators.PermSearchCustomers}},
		// An assist session runs as the customer: no operator permission,
		// whatever role it carries; the operator is the actor, acting for the customer.
		{sessions.Principal{Kind: sessions.KindAssist, DomainID: dom, OperatorID: op, CustomerID: cust, AssistID: as, Role: operators.RoleAdmin},
			audit.Actor{Type: audit.ActorOperator, ID: op, ActingFor: cust, AssistID: as, DomainID: dom}, nil},
		{sessions.Principal{Kind: sessions.KindCustomer, DomainID: dom, CustomerID: cust, Role: operators.RoleAdmin},
			audit.Actor{Type: audit.ActorCustomer, ID: cust, DomainID: dom}, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.p.Kind)+"/"+string(tt.p.Role), func(t *testing.T) {
			if a := tt.p.Actor(); a != tt.actor {
				t.Errorf("Actor() = %+v, want %+v", a, tt.actor)
			}
			for _, perm := range []operators.Permission{operators.PermSearchCustomers, operators.PermSetAccountStatus} {
				want := false
				for _, c := range tt.can {
					want = want || c == perm
				}
				if got := tt.p.Can(perm); got != want {
					t.Errorf("Can(%s) = %v, want %v", perm, got, want)
				}
			}
		})
	}
}

// A customer may type the company's display name instead of its slug, case
// aside; the failures of both spellings count against one account.
func TestSignInByTheDomainsDisplayName(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, typed := range []string{f.domain.Name, strings.ToUpper(f.domain.Name), "  " + strings.ToLower(f.domain.Name) + " "} {
		if _, c, err := f.svc.CustomerLogin(ctx, typed, f.ada.Email, password); err != nil || c.ID != f.ada.ID {
			t.Fatalf("sign-in with %q: %v", typed, err)
		}
	}
	if _, _, err := f.svc.CustomerLogin(ctx, f.other.Name, f.ada.Email, password); !errors.Is(err, apperr.ErrInvalidCredentials) {
		t.Fatalf("another company's name: %v, want INVALID_CREDENTIALS", err)
	}
	// Five failures, spelled both ways: the fifth starts the back-off, and the slug is refused too.
	for i := range 5 {
		typed := []string{f.domain.Slug, f.domain.Name}[i%2]
		wantErr(t, fmt.Sprintf("failure %d", i+1), func() error {
			_, _, err := f.svc.CustomerLogin(ctx, typed, f.ada.Email, "wrong-password-1234")
			return err
		}(), apperr.ErrInvalidCredentials)
	}
	// (Neither spelling alone has had its five: the store is read to find the domain, so the context
	// stays live and the refusal waits out its tarpit, a second at most.)
	_, _, err := f.svc.CustomerLogin(ctx, f.domain.Slug, f.ada.Email, password)
	wantErr(t, "by slug during the back-off", err, apperr.ErrRateLimited)
}
