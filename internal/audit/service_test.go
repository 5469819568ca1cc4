package audit_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// start is where the tests' clocks begin, at the millisecond precision the store keeps.
var start = time.Date(2031, 3, 14, 9, 26, 53, 589e6, time.UTC)

// fixture is an audit service on a real SQLite store with two domains.
type fixture struct {
	st            *sqlite.Store
	clk           *clock.Manual
	svc           *audit.Service
	domain, other string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	clk := clock.NewManual(start)
	return &fixture{st: st, clk: clk, svc: audit.NewService(st, clk.Now),
		domain: storetest.NewDomain(t, st).ID, other: storetest.NewDomain(t, st).ID}
}

func TestRecord(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithRequestID(context.Background(), "req-42")
	actor := audit.Actor{Type: audit.ActorOperator, ID: "op-1", ActingFor: "cust-1", AssistID: "as-1", DomainID: f.domain}
	r := actor.Record(audit.ActionDeviceUpdated, "device", "dev-1", "renamed")
	// Whatever the caller put there, the service dates and names the record.
	r.ID, r.At, r.RequestID = "chosen-by-the-caller", time.Unix(0, 0), "not this one"
	f.svc.Record(ctx, r)

	got, err := f.st.FindAudit(ctx, audit.Query{DomainID: f.domain, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("records: %+v, %v", got, err)
	}
	want := audit.Record{ID: got[0].ID, DomainID: f.domain, At: f.clk.Now(), ActorType: audit.ActorOperator, ActorID: "op-1",
		ActingFor: "cust-1", Action: audit.ActionDeviceUpdated, TargetType: "device", TargetID: "dev-1", Reason: "renamed",
		RequestID: "req-42", Outcome: audit.OutcomeSuccess, AssistID: "as-1"}
	if got[0] != want || got[0].ID == "chosen-by-the-caller" || len(got[0].ID) != 32 {
		t.Fatalf("stored %+v\nwant   %+v", got[0], want)
	}
	if audit.RequestID(context.Background()) != "" {
		t.Fatal("a request id from a context without one")
	}
}

// failing is an Appender whose store is down.
type failing struct{ calls int }

func (w *failing) AppendAudit(context.Context, audit.Record) error {
	w.calls++
	return errors.New("disk full")
}

func TestAppendLogsAFailureInsteadOfReturningIt(t *testing.T) {
	var logged bytes.Buffer
	ctx := zerolog.New(&logged).WithContext(context.Background())
	w := &failing{}
	audit.Append(ctx, w, time.Now(), audit.Record{Action: audit.ActionLoginFail, TargetID: "secret-target", Reason: "secret reason"})
	line := logged.String()
	if w.calls != 1 || !strings.Contains(line, `"op":"authn_login_fail"`) || !strings.Contains(line, "disk full") ||
		!strings.Contains(line, `"level":"error"`) {
		t.Fatalf("log after a failed write: %s", line)
	}
	if strings.Contains(line, "secret") {
		t.Fatalf("the log line shows the record's content: %s", line)
	}
}

func TestFind(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	type entry struct{ actor, action, targetType, target, actingFor string }
	var all []audit.Record // newest first
	for _, e := range []entry{
		{"op-1", audit.ActionPasswordReset, "customer", "cust-1", ""},
		{"op-2", audit.ActionUserDisabled, "customer", "cust-1", ""},
		{"op-1", audit.ActionDeviceUpdated, "device", "dev-9", "cust-1"},
		{"op-1", audit.ActionLoginSuccess, "operator", "op-1", ""},
		{"op-2", audit.ActionUserEnabled, "customer", "cust-2", ""},
	} {
		f.clk.Advance(time.Second)
		f.svc.Record(ctx, audit.Actor{Type: audit.ActorOperator, ID: e.actor, ActingFor: e.actingFor, DomainID: f.domain}.
			Record(e.action, e.targetType, e.target, ""))
		recs, err := f.st.FindAudit(ctx, audit.Query{DomainID: f.domain, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		all = append([]audit.Record{recs[0]}, all...)
	}
	// Another domain's record, about a customer id that also appears above.
	f.svc.Record(ctx, audit.Actor{Type: audit.ActorOperator, ID: "op-x", DomainID: f.other}.Record(audit.ActionUserDisabled, "customer", "cust-1", ""))

	type page struct {
		q     audit.Query
		first int
		want  []audit.Record
		more  bool
	}
	for _, tt := range []struct {
		name string
		page
	}{
		{"everything", page{audit.Query{}, 10, all, false}},
		{"exactly everything", page{audit.Query{}, 5, all, false}},
		{"first page", page{audit.Query{}, 2, all[:2], true}},
		{"second page", page{audit.Query{Before: &audit.Cursor{At: all[1].At, ID: all[1].ID}}, 2, all[2:4], true}},
		{"last page", page{audit.Query{Before: &audit.Cursor{At: all[3].At, ID: all[3].ID}}, 2, all[4:], false}},
		{"about a customer, or done as the customer", page{audit.Query{CustomerID: "cust-1"}, 10, []audit.Record{all[2], all[3], all[4]}, false}},
		{"by an actor", page{audit.Query{ActorID: "op-2"}, 10, []audit.Record{all[0], all[3]}, false}},
		{"one action", page{audit.Query{Action: audit.ActionPasswordReset}, 10, []audit.Record{all[4]}, false}},
		{"one action, by another actor", page{audit.Query{Action: audit.ActionPasswordReset, ActorID: "op-2"}, 10, nil, false}},
		{"the largest page", page{audit.Query{}, audit.MaxPageSize, all, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.DomainID = f.domain
			got, more, err := f.svc.Find(ctx, q, tt.first)
			if err != nil || more != tt.more || len(got) != len(tt.want) {
				t.Fatalf("Find = %d records, more %v, %v; want %d, more %v", len(got), more, err, len(tt.want), tt.more)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("record %d: %+v\nwant      %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if got, _, err := f.svc.Find(ctx, audit.Query{DomainID: f.other}, 10); err != nil || len(got) != 1 || got[0].ActorID != "op-x" {
		t.Fatalf("the other domain's log: %+v, %v", got, err)
	}
}

func TestFindRefusesPageSizesOutOfRange(t *testing.T) {
	f := newFixture(t)
	for _, first := range []int{-1, 0, audit.MaxPageSize + 1, 1 << 30} {
		got, more, err := f.svc.Find(context.Background(), audit.Query{DomainID: f.domain}, first)
		var ve *apperr.ValidationError
		if !errors.As(err, &ve) || ve.Field != "first" || got != nil || more {
			t.Errorf("Find(first %d) = %v, %v, %v; want a ValidationError on first", first, got, more, err)
		}
	}
}
