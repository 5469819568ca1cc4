package storetest

import (
	"context"
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
		r := audit.Record{ID: ids.New(), DomainID: domainID, At: base.Add(time.Duration(i) * time.Second), ActorType: audit.ActorOperator,
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
	wantEqual(t, find(audit.Query{CustomerID: "cust-1"}), []audit.Record{rename, disable, reset})
	wantEqual(t, find(audit.Query{ActorID: "op-2"}), []audit.Record{disable})
	wantEqual(t, find(audit.Query{Action: audit.ActionPasswordReset}), []audit.Record{reset})
	page := find(audit.Query{Limit: 2})
	wantEqual(t, page, all[:2])
	wantEqual(t, find(audit.Query{Before: &audit.Cursor{At: page[1].At, ID: page[1].ID}}), all[2:])
}
