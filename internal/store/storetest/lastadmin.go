package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/store"
)

// testKeepAnAdmin: an update with KeepAnAdmin is written only while another
// operator of the domain is an active ADMIN, decided as it is written, so
// that two ADMINs disabling each other at once never leave the domain
// without one (the service's own count, read before either write, let both
// through).
func testKeepAnAdmin(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	admin := func(name string) operators.Operator {
		o := operators.Operator{ID: ids.New(), DomainID: d.ID, Name: name, Email: fmt.Sprintf("%s.%s@a.test", name, ids.New()), Role: operators.RoleAdmin,
			Status: operators.StatusActive, PasswordHash: "$argon2id$x", Version: 1, CreatedAt: now(), UpdatedAt: now()}
		if err := s.CreateOperator(ctx, o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	disabled, support := operators.StatusDisabled, operators.RoleSupport
	a, b := admin("ann"), admin("bea")
	if _, err := s.UpdateOperator(ctx, operators.Update{ID: b.ID, Version: b.Version, Status: &disabled, KeepAnAdmin: true, At: now()}); err != nil {
		t.Fatalf("disabling one of two ADMINs: %v", err)
	}
	for _, u := range []operators.Update{
		{ID: a.ID, Version: a.Version, Status: &disabled, KeepAnAdmin: true, At: now()},
		{ID: a.ID, Version: a.Version, Role: &support, KeepAnAdmin: true, At: now()},
	} {
		_, err := s.UpdateOperator(ctx, u)
		wantErr(t, err, operators.ErrLastAdmin)
	}
	got, err := s.OperatorByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != operators.StatusActive || got.Role != operators.RoleAdmin || got.Version != a.Version {
		t.Fatalf("the last ADMIN after two refused changes: %s %s version %d; want ACTIVE ADMIN version %d", got.Status, got.Role, got.Version, a.Version)
	}

	// At once, again and again: never both.
	for round := range 12 {
		x, y := admin(fmt.Sprintf("x%d", round)), admin(fmt.Sprintf("y%d", round))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]operators.Operator{{x, y}, {y, x}} {
			wg.Go(func() {
				_, errs[i] = s.UpdateOperator(ctx, operators.Update{ID: pair[1].ID, Version: pair[1].Version, Status: &disabled, KeepAnAdmin: true, At: now()})
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, operators.ErrLastAdmin) && !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		n, err := s.CountOperators(ctx, d.ID, operators.RoleAdmin, operators.StatusActive)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("round %d: two ADMINs disabled each other at once (errors %v); the domain has no active ADMIN", round, errs)
		}
		// Leave the domain with a as its only active ADMIN again.
		for _, o := range []operators.Operator{x, y} {
			cur, err := s.OperatorByID(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cur.Status == operators.StatusActive {
				if _, err := s.UpdateOperator(ctx, operators.Update{ID: cur.ID, Version: cur.Version, Status: &disabled, At: now()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	// The roster is free again after every change: a later one is decided.
	active := operators.StatusActive
	cur, err := s.OperatorByID(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOperator(ctx, operators.Update{ID: b.ID, Version: cur.Version, Status: &active, At: now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOperator(ctx, operators.Update{ID: a.ID, Version: a.Version, Role: &support, KeepAnAdmin: true, At: now()}); err != nil {
		t.Fatalf("demoting one of two ADMINs after the rounds: %v", err)
	}
}
