package main

import (
	"strings"
	"testing"

	"github.com/iotconsole/bff/graph"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const auditQuery = `query($customer: ID, $action: String, $first: Int, $after: String) {
  auditLog(customerId: $customer, action: $action, first: $first, after: $after) {
    edges { cursor node { action actorType actorId actingFor targetType targetId reason requestId outcome } }
    pageInfo { hasNextPage endCursor }
  }
}`

func TestAuditLog(t *testing.T) {
	f := newAccountFixture(t, func(c *config) { c.Playground = true })
	admin := f.login(t, demo.AdminEmail)
	f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "fraud ring"})
	f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "ACTIVE"})

	resp := f.post(t, admin, auditQuery, map[string]any{"customer": f.customerID()})
	edges, _ := dig(resp.Data, "auditLog", "edges").([]any)
	if len(edges) != 2 {
		t.Fatalf("audit of the customer: %+v", resp)
	}
	enabled, disabled := dig(edges[0], "node").(map[string]any), dig(edges[1], "node").(map[string]any)
	if enabled["action"] != "user_enabled" || disabled["action"] != "user_disabled" || disabled["reason"] != "fraud ring" ||
		disabled["actorType"] != "operator" || disabled["targetId"] != f.customerID() || disabled["requestId"] == nil || disabled["outcome"] != "success" {
		t.Fatalf("entries: %v / %v", enabled, disabled)
	}
	op := f.post(t, admin, `{ viewer { ... on Operator { id } } }`, nil)
	if disabled["actorId"] != dig(op.Data, "viewer", "id") {
		t.Fatalf("actor %v, want the admin %v", disabled["actorId"], dig(op.Data, "viewer", "id"))
	}

	// Paging visits every entry once; filters narrow.
	seen, after := 0, any(nil)
	for {
		page := f.post(t, admin, auditQuery, map[string]any{"first": 2, "after": after})
		seen += len(dig(page.Data, "auditLog", "edges").([]any))
		if dig(page.Data, "auditLog", "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(page.Data, "auditLog", "pageInfo", "endCursor")
	}
	all := f.post(t, admin, auditQuery, map[string]any{"first": 100})
	if total := len(dig(all.Data, "auditLog", "edges").([]any)); seen != total || total < 3 {
		t.Fatalf("paged through %d entries of %d", seen, total)
	}
	logins := f.post(t, admin, auditQuery, map[string]any{"action": "authn_login_success"})
	for _, e := range dig(logins.Data, "auditLog", "edges").([]any) {
		if dig(e, "node", "action") != "authn_login_success" {
			t.Fatalf("action filter let through %v", e)
		}
	}

	// SUPPORT may not read it; nothing in the API changes or deletes it.
	if resp := f.post(t, f.login(t, demo.SupportEmail), auditQuery, nil); resp.code() != codeForbidden {
		t.Fatalf("SUPPORT reading the audit log: %+v", resp)
	}
	for _, field := range graph.NewExecutableSchema(graph.Config{}).Schema().Mutation.Fields {
		if name := strings.ToLower(field.Name); strings.Contains(name, "audit") {
			t.Fatalf("a mutation touches the audit log: %s", field.Name)
		}
	}
	// Another domain's admin sees none of it.
	d := storetest.NewDomain(t, f.store)
	addOperator(t, f, d.ID, "admin@other.test")
	login := f.post(t, "", loginMutation, map[string]any{"domain": d.Slug, "email": "admin@other.test", "password": testPassword})
	stranger, _ := dig(login.Data, "operatorLogin", "token").(string)
	theirs := f.post(t, stranger, auditQuery, map[string]any{"first": 100})
	for _, e := range dig(theirs.Data, "auditLog", "edges").([]any) {
		if dig(e, "node", "targetId") == f.customerID() {
			t.Fatalf("another domain's admin sees %v", e)
		}
	}
}
