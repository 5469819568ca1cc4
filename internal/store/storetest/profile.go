package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/shred"
	"github.com/iotconsole/bff/internal/store"
)

func testCustomerKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	ada, bob := ids.New(), ids.New()
	if keys, err := s.CustomerKeys(ctx, []string{ada, bob}); err != nil || len(keys) != 0 {
		t.Fatalf("keys before any: %v %v", keys, err)
	}
	key, err := s.CustomerKey(ctx, ada)
	if err != nil || len(key) != shred.KeySize {
		t.Fatalf("first CustomerKey = %x, %v", key, err)
	}
	again, err := s.CustomerKey(ctx, ada)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second CustomerKey = %x, %v; want the first, %x", again, err, key)
	}
	// Only a key read back counts: CustomerKeys creates none.
	keys, err := s.CustomerKeys(ctx, []string{ada, bob, ada, ""})
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[ada], key) {
		t.Fatalf("CustomerKeys = %v, %v; want ada's only", keys, err)
	}
	if keys, _ := s.CustomerKeys(ctx, []string{bob}); len(keys) != 0 {
		t.Fatalf("CustomerKeys created bob's key: %v", keys)
	}

	if err := s.DeleteCustomerKey(ctx, ada); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.CustomerKeys(ctx, []string{ada}); err != nil || len(keys) != 0 {
		t.Fatalf("keys after deletion: %v %v", keys, err)
	}
	if err := s.DeleteCustomerKey(ctx, ada); err != nil {
		t.Fatalf("deleting a deleted key: %v", err)
	}
	// A key made after the deletion is another key.
	fresh, err := s.CustomerKey(ctx, ada)
	if err != nil || len(fresh) != shred.KeySize || bytes.Equal(fresh, key) {
		t.Fatalf("the key after a deletion = %x, %v", fresh, err)
	}

	// Racing first uses end with one key, which every racer gets.
	for round := range 5 {
		id := ids.New()
		got := make([][]byte, 8)
		errs := make([]error, len(got))
		var wg sync.WaitGroup
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.CustomerKey(ctx, id)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("round %d: racer %d got %x, %v; racer 0 %x", round, i, got[i], errs[i], got[0])
			}
		}
		if stored, _ := s.CustomerKeys(ctx, []string{id}); !bytes.Equal(stored[id], got[0]) {
			t.Fatalf("round %d: the racers got %x, the store keeps %x", round, got[0], stored[id])
		}
	}
}

// profileUpdate returns an update of c's profile at its version, with the
// search tokens and records the service would give it.
func profileUpdate(c customers.Customer, after customers.Customer, region string) customers.Update {
	u := customers.Update{ID: c.ID, Version: c.Version, At: now(), SearchTokens: customers.SearchTokens(after, nil, region),
		Audit: audit.Record{ID: ids.New(), DomainID: c.DomainID, At: now(), ActorType: audit.ActorOperator, ActorID: "op",
			Action: audit.ActionUserUpdated, TargetType: audit.TargetCustomer, TargetID: c.ID, Reason: "changed", Outcome: audit.OutcomeSuccess,
			Details: shred.Prefix + "c2VhbGVk"},
		Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.ProfileUpdated, CustomerID: c.ID, ActorID: "op",
			Data: map[string]string{events.KeyFields: "email"}, OccurredAt: now()}}}
	if after.FirstName != c.FirstName || after.LastName != c.LastName {
		u.FirstName, u.LastName = &after.FirstName, &after.LastName
	}
	if after.Email != c.Email {
		u.Email = &after.Email
	}
	if after.Phone != c.Phone {
		u.Phone, u.PhoneRegion = &after.Phone, region
	}
	return u
}

func testUpdateCustomerProfile(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, other := NewDomain(t, s), NewDomain(t, s)
	ada := NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "+1 555 010 0101")
	bob := NewCustomer(d, "Bob", "Baker", "bob@example.com", "")
	elsewhere := NewCustomer(other, "Eve", "Else", "eve@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{ada, bob}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportCustomers(ctx, []customers.Customer{elsewhere}, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	find := func(text string) []string {
		t.Helper()
		return searchAll(t, svc, d.ID, text, "", 10)
	}

	after := ada
	after.FirstName, after.LastName, after.Email, after.Phone = "Augusta", "Byron", "augusta@example.org", "+44 20 7946 0958"
	u := profileUpdate(ada, after, d.DefaultRegion)
	updated, err := s.UpdateCustomer(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	want := after
	want.Version, want.UpdatedAt, want.SearchTokens = ada.Version+1, u.At, u.SearchTokens
	wantEqual(t, updated, want)
	reread, err := s.CustomerByID(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, reread, want)
	if byEmail, err := s.CustomerByEmail(ctx, d.ID, "augusta@example.org"); err != nil || byEmail.ID != ada.ID {
		t.Fatalf("by the new email: %+v %v", byEmail, err)
	}
	if _, err := s.CustomerByEmail(ctx, d.ID, "ada@example.com"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("by the old email: %v", err)
	}
	// Search follows at once: the new name, email and phone find her, the old ones not.
	for _, text := range []string{"augusta", "byron", "augusta@example.org", "7946 0958", "aug by"} {
		if got := find(text); !slices.Equal(got, []string{"augusta@example.org"}) {
			t.Errorf("search %q after the change = %v", text, got)
		}
	}
	for _, text := range []string{"lovelace", "ada@example.com", "010 0101"} {
		if got := find(text); len(got) != 0 {
			t.Errorf("search %q after the change still finds %v", text, got)
		}
	}
	// The change's record (with its details) and event were written with it.
	records, err := AuditRecords(ctx, s, d.ID, 10)
	if err != nil || len(records) != 1 {
		t.Fatalf("audit after the update: %v %v", records, err)
	}
	wantEqual(t, records[0], u.Audit)
	if found, _ := s.FindAudit(ctx, audit.Query{DomainID: d.ID, CustomerID: ada.ID, Limit: 5}); len(found) != 1 || found[0].Details != u.Audit.Details {
		t.Fatalf("the record's details as found: %+v", found)
	}
	evs, err := RecentEvents(ctx, s, d.ID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events after the update: %v %v", evs, err)
	}
	wantEqual(t, evs[0], u.Events[0])

	// Only the fields given change.
	onlyPhone := updated
	onlyPhone.Phone = ""
	u = profileUpdate(updated, onlyPhone, d.DefaultRegion)
	if updated, err = s.UpdateCustomer(ctx, u); err != nil || updated.Phone != "" || updated.Email != "augusta@example.org" || updated.LastName != "Byron" {
		t.Fatalf("removing the phone: %+v %v", updated, err)
	}

	// Another customer's email of the domain is refused, and nothing is
	// written; another domain's is no one's here.
	taken := updated
	taken.Email = bob.Email
	_, err = s.UpdateCustomer(ctx, profileUpdate(updated, taken, d.DefaultRegion))
	if !errors.Is(err, customers.ErrEmailTaken) || errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("bob's email: %v, want ErrEmailTaken", err)
	}
	if again, _ := s.CustomerByID(ctx, ada.ID); !reflect.DeepEqual(again, updated) {
		t.Fatalf("a refused update changed the customer: %+v", again)
	}
	if records, _ := AuditRecords(ctx, s, d.ID, 10); len(records) != 2 {
		t.Fatalf("a refused update wrote audit records: %d, want 2", len(records))
	}
	if evs, _ := RecentEvents(ctx, s, d.ID, 10); len(evs) != 2 {
		t.Fatalf("a refused update wrote events: %d, want 2", len(evs))
	}
	if got := find("bob@example.com"); !slices.Equal(got, []string{"bob@example.com"}) {
		t.Fatalf("bob after the refused update: %v", got)
	}
	shared := updated
	shared.Email = elsewhere.Email
	if updated, err = s.UpdateCustomer(ctx, profileUpdate(updated, shared, d.DefaultRegion)); err != nil || updated.Email != elsewhere.Email {
		t.Fatalf("the email of another domain's customer: %+v %v", updated, err)
	}

	// A stale version is a conflict, not a taken email, and changes nothing.
	stale := updated
	stale.FirstName = "Stale"
	_, err = s.UpdateCustomer(ctx, profileUpdate(ada, stale, d.DefaultRegion))
	if !errors.Is(err, apperr.ErrConflict) || errors.Is(err, customers.ErrEmailTaken) {
		t.Fatalf("a stale version: %v, want a conflict", err)
	}
	staleTaken := updated
	staleTaken.Email = bob.Email
	if _, err = s.UpdateCustomer(ctx, profileUpdate(ada, staleTaken, d.DefaultRegion)); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("a stale version with a taken email: %v, want a conflict", err)
	}
	if got := find("stale"); len(got) != 0 {
		t.Fatalf("a refused rename is searchable: %v", got)
	}
}

// testRenamesKeepSearchOrder renames customers again and again and checks
// that search, which reads matches in the store's own order (SQLite: the
// order labels), still lists them by last name, first name and id, and
// finds each by its new name only.
func testRenamesKeepSearchOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"Abbott", "Baker", "Baker", "Cole", "Diaz", "Evans", "Fox", "Gray", "Hale", "Iver", "Jones", "Kim", "Lee", "Moss"}
	var cs []customers.Customer
	for i := range 24 {
		cs = append(cs, NewCustomer(d, names[rng.IntN(len(names))], names[rng.IntN(len(names))], fmt.Sprintf("r%02d@rename.test", i), ""))
	}
	if err := s.ImportCustomers(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for step := range 40 {
		i := rng.IntN(len(cs))
		after := cs[i]
		after.FirstName = names[rng.IntN(len(names))] + fmt.Sprint(step)
		if rng.IntN(2) == 0 {
			after.LastName = names[rng.IntN(len(names))]
		}
		updated, err := s.UpdateCustomer(ctx, profileUpdate(cs[i], after, d.DefaultRegion))
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		cs[i] = updated
		want := slices.Clone(cs)
		slices.SortFunc(want, func(a, b customers.Customer) int {
			al, af := customers.SortKeys(a)
			bl, bf := customers.SortKeys(b)
			return cmp.Or(cmp.Compare(al, bl), cmp.Compare(af, bf), cmp.Compare(a.ID, b.ID))
		})
		var wantEmails []string
		for _, c := range want {
			wantEmails = append(wantEmails, c.Email)
		}
		if got := searchAll(t, svc, d.ID, "rename.test", "", 7); !slices.Equal(got, wantEmails) {
			t.Fatalf("step %d: search order\n got  %v\n want %v", step, got, wantEmails)
		}
		if got := searchAll(t, svc, d.ID, after.FirstName, "", 10); !slices.Equal(got, []string{after.Email}) {
			t.Fatalf("step %d: search %q = %v", step, after.FirstName, got)
		}
	}
}
