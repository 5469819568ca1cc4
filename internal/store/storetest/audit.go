package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store"
)

func testFindAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, other := NewDomain(t, s), NewDomain(t, s)
	base := now()
	var all []audit.Record
	add := func(domainID, actor, action, targetType, target, actingFor string, i int) audit.Record {
		actorType := audit.ActorOperator
		if strings.HasPrefix(actor, "cust-") {
			actorType = audit.ActorCustomer
		}
		r := audit.Record{ID: ids.New(), DomainID: domainID, At: base.Add(time.Duration(i) * time.Second), ActorType: actorType,
			ActorID: actor, ActingFor: actingFor, Action: action, TargetType: targetType, TargetID: target, Outcome: audit.OutcomeSuccess}
		if err := s.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
		if domainID == d.ID {
			all = append([]audit.Record{r}, all...)
		}
		return r
	}
	reset := add(d.ID, "op-1", audit.ActionPasswordReset, "customer", "cust-1", "", 1)
	disable := add(d.ID, "op-2", audit.ActionUserDisabled, "customer", "cust-1", "", 2)
	rename := add(d.ID, "op-1", audit.ActionDeviceUpdated, "device", "dev-9", "cust-1", 3)
	add(d.ID, "op-1", audit.ActionLoginSuccess, "operator", "op-1", "", 4)
	add(other.ID, "op-x", audit.ActionUserDisabled, "customer", "cust-1", "", 5)
	// Records that only look like records about cust-1: another type of
	// target with the same id, another customer, another customer's own
	// change of its device.
	add(d.ID, "op-1", audit.ActionUserCreated, "operator", "cust-1", "", 6)
	add(d.ID, "op-1", audit.ActionUserDisabled, "customer", "cust-2", "", 7)
	// cust-1's own change of its device: it is the actor, not the target,
	// and acts for nobody, and the record is about it.
	own := add(d.ID, "cust-1", audit.ActionDeviceUpdated, "device", "dev-9", "", 8)
	add(d.ID, "cust-2", audit.ActionDeviceUpdated, "device", "dev-8", "", 9)

	find := func(q audit.Query) []audit.Record {
		t.Helper()
		q.DomainID = d.ID
		if q.Limit == 0 {
			q.Limit = 50
		}
		got, err := s.FindAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wantEqual(t, find(audit.Query{}), all)
	// "Records about a customer", said once in store.AboutCustomer: what the
	// store selects is what the rule selects, and that is the records that
	// target the customer, were done acting for it, or were done by it.
	about := find(audit.Query{CustomerID: "cust-1"})
	wantEqual(t, about, []audit.Record{own, rename, disable, reset})
	var ruled []audit.Record
	for _, r := range all {
		if store.AboutCustomer("cust-1").Match(r) {
			ruled = append(ruled, r)
		}
	}
	wantEqual(t, about, ruled)
	// The rule is one condition among the others, all of which hold.
	wantEqual(t, find(audit.Query{CustomerID: "cust-1", Action: audit.ActionUserDisabled}), []audit.Record{disable})
	wantEqual(t, find(audit.Query{CustomerID: "cust-1", ActorID: "op-1"}), []audit.Record{rename, reset})
	wantEqual(t, find(audit.Query{CustomerID: "cust-1", Limit: 1, Before: &audit.Cursor{At: rename.At, ID: rename.ID}}), []audit.Record{disable})
	wantEqual(t, find(audit.Query{ActorID: "op-2"}), []audit.Record{disable})
	wantEqual(t, find(audit.Query{Action: audit.ActionPasswordReset}), []audit.Record{reset})
	page := find(audit.Query{Limit: 2})
	wantEqual(t, page, all[:2])
	wantEqual(t, find(audit.Query{Before: &audit.Cursor{At: page[1].At, ID: page[1].ID}}), all[2:])
}
