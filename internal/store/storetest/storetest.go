// Package storetest is the contract every storage backend passes: the same
// cases run against SQLite and against MongoDB (or FerretDB).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/tokens"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
)

// Opener returns a new, empty store that lives until the test ends.
type Opener func(t *testing.T) store.Store

// Run runs the whole contract against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Domains", testDomains},
		{"DomainsByName", testDomainsByName},
		{"Operators", testOperators},
		{"KeepAnAdmin", testKeepAnAdmin},
		{"Customers", testCustomers},
		{"Search", testSearch},
		{"SearchHitsLeaveOutSecrets", testSearchHitsLeaveOutSecrets},
		{"SearchEmailPrefixes", testSearchEmailPrefixes},
		{"SearchEmailsWithoutTheirTag", testSearchEmailsWithoutTheirTag},
		{"SearchNamesWrittenTogether", testSearchNamesWrittenTogether},
		{"SearchPhoneForms", testSearchPhoneForms},
		{"SearchWhatDetailsShow", testSearchWhatDetailsShow},
		{"SearchCaseFolding", testSearchCaseFolding},
		{"SearchTransliterations", testSearchTransliterations},
		{"SearchDevicesAndIDs", testSearchDevicesAndIDs},
		{"SearchFollowsEveryChange", testSearchFollowsEveryChange},
		{"Reindex", testReindex},
		{"DomainIDFindsNoOne", testDomainIDFindsNoOne},
		{"CustomerIDFindsOnlyItsCustomer", testCustomerIDFindsOnlyItsCustomer},
		{"PhoneRegionKept", testPhoneRegionKept},
		{"Suggestions", testSuggestions},
		{"UpdateCustomer", testUpdateCustomer},
		{"UpdateCustomerProfile", testUpdateCustomerProfile},
		{"RenamesKeepSearchOrder", testRenamesKeepSearchOrder},
		{"CustomerKeys", testCustomerKeys},
		{"DeleteCustomer", testDeleteCustomer},
		{"SessionScopeAndEpoch", testSessionScopeAndEpoch},
		{"TailEvents", testTailEvents},
		{"TailResumes", testTailResumes},
		{"Assists", testAssists},
		{"AssistConsent", testAssistConsent},
		{"CustomersByIDs", testCustomersByIDs},
		{"OperatorsByIDs", testOperatorsByIDs},
		{"AssistsByIDs", testAssistsByIDs},
		{"AuditRecordsOfAssists", testAuditRecordsOfAssists},
		{"Devices", testDevices},
		{"DeviceSerialNumbers", testDeviceSerialNumbers},
		{"Sessions", testSessions},
		{"Audit", testAudit},
		{"FindAudit", testFindAudit},
		{"Events", testEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// EventLog is what tests read of the events a store holds. Both stores
// implement it; no service reads events back (they reach services through
// TailEvents), so it is in no domain Store interface.
type EventLog interface {
	RecentEvents(ctx context.Context, domainID string, limit int) ([]events.Event, error)
}

// RecentEvents returns the newest limit events of domainID that s (an
// EventLog) holds, newest first.
func RecentEvents(ctx context.Context, s any, domainID string, limit int) ([]events.Event, error) {
	log, ok := s.(EventLog)
	if !ok {
		return nil, fmt.Errorf("%T keeps no event log a test can read", s)
	}
	return log.RecentEvents(ctx, domainID, limit)
}

// AuditRecords returns the newest limit audit records of domainID in s,
// newest first.
func AuditRecords(ctx context.Context, s audit.Store, domainID string, limit int) ([]audit.Record, error) {
	return s.FindAudit(ctx, audit.Query{DomainID: domainID, Limit: limit})
}

// auditRecordsOfAssist returns the records made during assistance id,
// oldest first.
func auditRecordsOfAssist(ctx context.Context, s store.Store, id string) ([]audit.Record, error) {
	records, err := s.AuditRecordsOfAssists(ctx, []string{id})
	return records[id], err
}

// now is a time the stores can round-trip exactly (millisecond precision, UTC).
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// NewDomain stores and returns a domain with a unique slug, whose remote
// assistance needs no agreement of the customer (what most tests of
// assistance take for granted; NewDomainConsent makes others).
func NewDomain(t *testing.T, s store.Store) domains.Domain {
	t.Helper()
	return NewDomainConsent(t, s, domains.AssistConsentNone)
}

// NewDomainConsent stores and returns a domain with a unique slug whose
// remote assistance needs the customer's agreement as consent says.
func NewDomainConsent(t *testing.T, s store.Store, consent domains.AssistConsent) domains.Domain {
	t.Helper()
	id := ids.New()
	d := domains.Domain{ID: id, Slug: "d-" + id[20:], Name: "Domain " + id[20:], DefaultRegion: "US", SignUpPolicy: domains.SignUpClosed,
		CreatedAt: now(), AssistConsent: consent}
	if err := s.CreateDomain(context.Background(), d); err != nil {
		t.Fatalf("CreateDomain: %v", err)
	}
	return d
}

// NewOperator stores and returns an active SUPPORT operator of domain d.
func NewOperator(t *testing.T, s store.Store, d domains.Domain, email string) operators.Operator {
	t.Helper()
	o := operators.Operator{ID: ids.New(), DomainID: d.ID, Name: "Operator " + email, Email: email, Role: operators.RoleSupport,
		Status: operators.StatusActive, PasswordHash: "$argon2id$test", CreatedAt: now(), UpdatedAt: now(), Version: 1}
	if err := s.CreateOperator(context.Background(), o); err != nil {
		t.Fatalf("CreateOperator: %v", err)
	}
	return o
}

// NewCustomer returns (without storing) a customer of domain d.
func NewCustomer(d domains.Domain, first, last, email, phone string) customers.Customer {
	c := customers.Customer{
		ID: ids.New(), DomainID: d.ID, FirstName: first, LastName: last, Email: email, Phone: phone,
		PhoneRegion: d.DefaultRegion, Status: customers.StatusActive, PasswordHash: "$argon2id$test", Version: 1, CreatedAt: now(), UpdatedAt: now(),
	}
	c.SearchTokens = customers.SearchTokens(c, nil, d.DefaultRegion)
	return c
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// wantEqual fails unless got and want are deeply equal, customers compared
// without their SearchTokens: a store need not read them back (the embedded
// store keeps none; searches show what it indexed).
func wantEqual(t *testing.T, got, want any) {
	t.Helper()
	got, want = withoutSearchTokens(got), withoutSearchTokens(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// testDomainsByName: a display name is found case aside, non-ASCII letters
// included, and by the names that would be taken for it (domains.SameName:
// other spaces, full-width or Cyrillic look-alike letters), only whole; two
// domains may share one.
func testDomainsByName(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	d.ID, d.Slug, d.Name = ids.New(), d.Slug+"-e", "Élan Chauffage "+d.ID[20:]+" (Nord)"
	if err := s.CreateDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	lookalikes := []string{
		strings.Replace(d.Name, " ", "\u00a0", 1), // a no-break space
		strings.Replace(d.Name, " ", "  ", 1),
		d.Name + " ",
		strings.Replace(d.Name, "Chauffage", "Ｃｈａｕｆｆａｇｅ", 1), // full-width
		strings.Replace(d.Name, "a", "\u0430", 1),            // Cyrillic а
		strings.Replace(d.Name, "Nord", "NORD", 1),
	}
	for _, typed := range append([]string{d.Name, strings.ToUpper(d.Name), strings.ToLower(d.Name)}, lookalikes...) {
		got, err := s.DomainsByName(ctx, typed)
		if err != nil || len(got) != 1 {
			t.Fatalf("DomainsByName(%q) = %+v, %v; want %s", typed, got, err, d.Slug)
		}
		wantEqual(t, got[0], d)
	}
	for _, typed := range []string{"Élan Chauffage", "Elan Chauffage " + d.ID[20:] + " (Nord)", "Élan Chauffage .* (Nord)", "%"} {
		if got, err := s.DomainsByName(ctx, typed); err != nil || len(got) != 0 {
			t.Fatalf("DomainsByName(%q) = %+v, %v; want none", typed, got, err)
		}
	}
	twin := d
	twin.ID, twin.Slug = ids.New(), d.Slug+"-twin"
	if err := s.CreateDomain(ctx, twin); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DomainsByName(ctx, d.Name); err != nil || len(got) != 2 {
		t.Fatalf("two domains of one name: %+v, %v", got, err)
	}
}

func testDomains(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	got, err := s.DomainBySlug(ctx, d.Slug)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, d)
	got, err = s.DomainByID(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, d)
	dup := d
	dup.ID = ids.New()
	wantErr(t, s.CreateDomain(ctx, dup), apperr.ErrConflict)
	_, err = s.DomainBySlug(ctx, "no-such-domain")
	wantErr(t, err, apperr.ErrNotFound)
	_, err = s.DomainByID(ctx, ids.New())
	wantErr(t, err, apperr.ErrNotFound)

	open := d
	open.ID, open.Slug, open.SignUpPolicy = ids.New(), d.Slug+"-open", domains.SignUpOpen
	if err := s.CreateDomain(ctx, open); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DomainByID(ctx, open.ID); err != nil || !got.SignUpIsOpen() {
		t.Fatalf("a domain open to sign-up: %+v %v", got, err)
	}
}

func testOperators(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	op := operators.Operator{ID: ids.New(), DomainID: a.ID, Name: "Ann Admin", Email: "ann@a.test", Role: operators.RoleAdmin,
		Status: operators.StatusActive, PasswordHash: "$argon2id$x", CreatedAt: now(), UpdatedAt: now()}
	if err := s.CreateOperator(ctx, op); err != nil {
		t.Fatal(err)
	}
	got, err := s.OperatorByEmail(ctx, a.ID, "ann@a.test")
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, op)
	got, err = s.OperatorByID(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, op)

	same := op
	same.ID = ids.New()
	wantErr(t, s.CreateOperator(ctx, same), apperr.ErrConflict)
	other := op
	other.ID, other.DomainID = ids.New(), b.ID
	if err := s.CreateOperator(ctx, other); err != nil {
		t.Fatalf("the same email in another domain: %v", err)
	}
	_, err = s.OperatorByEmail(ctx, b.ID, "nobody@a.test")
	wantErr(t, err, apperr.ErrNotFound)
	_, err = s.OperatorByID(ctx, ids.New())
	wantErr(t, err, apperr.ErrNotFound)
}

func testCustomers(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	batch := make([]customers.Customer, 50)
	for i := range batch {
		batch[i] = NewCustomer(a, "Zoë", fmt.Sprintf("O'Brien-%d", i), fmt.Sprintf("zoe.%d@example.com", i), "+1 (555) 010-0199")
	}
	if err := s.ImportCustomers(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.CustomerByID(ctx, batch[7].ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, batch[7])

	n, err := s.CountCustomers(ctx, a.ID)
	if err != nil || n != 50 {
		t.Fatalf("CountCustomers(a) = %d, %v; want 50", n, err)
	}
	n, err = s.CountCustomers(ctx, b.ID)
	if err != nil || n != 0 {
		t.Fatalf("CountCustomers(b) = %d, %v; want 0", n, err)
	}

	dup := NewCustomer(a, "Other", "Person", batch[0].Email, "")
	wantErr(t, s.ImportCustomers(ctx, []customers.Customer{dup}, nil), apperr.ErrConflict)
	elsewhere := NewCustomer(b, "Other", "Person", batch[0].Email, "")
	if err := s.ImportCustomers(ctx, []customers.Customer{elsewhere}, nil); err != nil {
		t.Fatalf("the same email in another domain: %v", err)
	}
	_, err = s.CustomerByID(ctx, ids.New())
	wantErr(t, err, apperr.ErrNotFound)
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	live := sessions.Session{TokenHash: tokens.Hash(tokens.New()), Kind: sessions.KindOperator, DomainID: d.ID,
		SubjectID: ids.New(), CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}
	expired := live
	expired.TokenHash = tokens.Hash(tokens.New())
	expired.ExpiresAt = now().Add(-time.Minute)
	for _, sess := range []sessions.Session{live, expired} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByHash(ctx, live.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, live)

	at := now()
	if err := s.RevokeSession(ctx, live.TokenHash, sessions.RevokedAccountDisabled, at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, live.TokenHash, sessions.RevokedLogout, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err = s.SessionByHash(ctx, live.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(at) || got.RevokeReason != sessions.RevokedAccountDisabled {
		t.Fatalf("after two revocations: revoked at %v for %q; want the first (%v, %q)", got.RevokedAt, got.RevokeReason, at, sessions.RevokedAccountDisabled)
	}

	n, err := s.DeleteExpiredSessions(ctx, now())
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	_, err = s.SessionByHash(ctx, expired.TokenHash)
	wantErr(t, err, apperr.ErrNotFound)
	if _, err := s.SessionByHash(ctx, live.TokenHash); err != nil {
		t.Fatalf("the unexpired session went with the sweep: %v", err)
	}
	testSessionAndOperator(t, s, d)
}

// testSessionAndOperator: a session with its operator for an operator's
// session (with whether its domain requires a second factor), and with none
// for a customer's or for an operator who does not exist.
func testSessionAndOperator(t *testing.T, s store.Store, d domains.Domain) {
	ctx := context.Background()
	op := NewOperator(t, s, d, "oona@ops.example")
	stored, err := s.OperatorByID(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantOp := sessions.StandingOf(stored, false)
	base := sessions.Session{Kind: sessions.KindOperator, DomainID: d.ID, SubjectID: op.ID, CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}
	customer, gone := base, base
	customer.Kind, customer.SubjectID = sessions.KindCustomer, op.ID // a customer's session never joins an operator, whatever its id
	gone.SubjectID = ids.New()
	for name, tc := range map[string]struct {
		sess sessions.Session
		op   sessions.OperatorStanding
	}{"an operator's": {base, wantOp}, "a customer's": {customer, sessions.OperatorStanding{}}, "a missing operator's": {gone, sessions.OperatorStanding{}}} {
		tc.sess.TokenHash = tokens.Hash(tokens.New())
		if err := s.CreateSession(ctx, tc.sess); err != nil {
			t.Fatal(err)
		}
		gotSess, gotOp, err := s.SessionAndOperator(ctx, tc.sess.TokenHash)
		if err != nil {
			t.Fatalf("%s session: %v", name, err)
		}
		wantEqual(t, gotSess, tc.sess)
		wantEqual(t, gotOp, tc.op)
	}
	_, _, err = s.SessionAndOperator(ctx, tokens.Hash(tokens.New()))
	wantErr(t, err, apperr.ErrNotFound)

	strict := d
	strict.RequireOperatorMFA = true
	if err := s.UpdateDomain(ctx, strict, audit.Record{}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.UpdateDomain(ctx, d, audit.Record{}) }()
	if _, gotOp, err := s.SessionAndOperator(ctx, func() string {
		sess := base
		sess.TokenHash = tokens.Hash(tokens.New())
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		return sess.TokenHash
	}()); err != nil || gotOp != sessions.StandingOf(stored, true) {
		t.Fatalf("an operator's session in a domain that requires a second factor: %+v, %v", gotOp, err)
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	base := now()
	var want []audit.Record
	for i := range 3 {
		r := audit.Record{ID: ids.New(), DomainID: a.ID, At: base.Add(time.Duration(i) * time.Second), ActorType: audit.ActorOperator,
			ActorID: "op", ActingFor: "cust", Action: audit.ActionLoginSuccess, TargetType: "operator", TargetID: "op",
			Reason: "because", RequestID: "req", Outcome: audit.OutcomeSuccess}
		if err := s.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append([]audit.Record{r}, want...)
	}
	if err := s.AppendAudit(ctx, audit.Record{ID: ids.New(), DomainID: b.ID, At: base, Action: audit.ActionLogout}); err != nil {
		t.Fatal(err)
	}
	got, err := AuditRecords(ctx, s, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, want)
	got, err = AuditRecords(ctx, s, a.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, want[:2])
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	var want []events.Event
	for i := range 3 {
		e := events.Event{ID: ids.New(), DomainID: a.ID, Type: events.StatusChanged, CustomerID: fmt.Sprint("c", i), ActorID: "op",
			Data: map[string]string{"status": "DISABLED"}, OccurredAt: now()}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append([]events.Event{e}, want...)
		time.Sleep(2 * time.Millisecond) // ids order by millisecond
	}
	if err := s.AppendEvent(ctx, events.Event{ID: ids.New(), DomainID: b.ID, Type: events.PasswordReset, Data: map[string]string{}, OccurredAt: now()}); err != nil {
		t.Fatal(err)
	}
	got, err := RecentEvents(ctx, s, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, want)
}

// withoutSearchTokens returns v with the SearchTokens of a customer, or of
// a slice of them, left out.
func withoutSearchTokens(v any) any {
	switch v := v.(type) {
	case customers.Customer:
		v.SearchTokens = nil
		return v
	case []customers.Customer:
		out := slices.Clone(v)
		for i := range out {
			out[i].SearchTokens = nil
		}
		return out
	}
	return v
}
