package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

func TestDemoServerAnswersAnOperator(t *testing.T) {
	s := startTest(t, nil)
	ctx := context.Background()
	if code, body := get(t, s.URL()+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	if code, _ := get(t, s.URL()+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	d, err := s.store.DomainBySlug(ctx, demo.Slug)
	if err != nil {
		t.Fatalf("demo domain: %v", err)
	}
	if n, _ := s.store.CountCustomers(ctx, d.ID); n != demo.CustomerCount {
		t.Fatalf("demo customers = %d, want %d", n, demo.CustomerCount)
	}

	token := s.login(t, demo.AdminEmail)
	resp := s.post(t, token, `{ viewer { __typename ... on Operator { email role domain { slug } } } }`, nil)
	if got := dig(resp.Data, "viewer", "email"); got != demo.AdminEmail {
		t.Fatalf("viewer = %+v", resp)
	}

	// The request is in the metrics, served on their own listener only.
	if code, _ := get(t, s.URL()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the service port answered %d", code)
	}
	_, metrics := get(t, s.metricsURL())
	for _, series := range []string{"bff_graphql_operation_duration_seconds_count", `bff_http_requests_total{code="200",route="POST /graphql"}`,
		`bff_http_requests_total{code="200",route="GET /readyz"}`, "bff_websocket_connections"} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

func TestOperatorLoginFailuresAreGeneric(t *testing.T) {
	s := startTest(t, nil)
	tests := []struct{ name, domain, email, password string }{
		{"wrong password", "demo", demo.AdminEmail, "not the password at all"},
		{"unknown email", "demo", "nobody@demo.test", testPassword},
		{"unknown domain", "nope", demo.AdminEmail, testPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.post(t, "", loginMutation, map[string]any{"domain": tt.domain, "email": tt.email, "password": tt.password})
			if token := dig(resp.Data, "operatorLogin", "token"); token != nil {
				t.Fatalf("got a token: %+v", resp)
			}
			errs, _ := dig(resp.Data, "operatorLogin", "userErrors").([]any)
			if len(errs) != 1 || dig(errs[0], "code") != "INVALID_CREDENTIALS" {
				t.Fatalf("userErrors = %+v, want one INVALID_CREDENTIALS", errs)
			}
		})
	}
	// Emails are case-insensitive.
	resp := s.post(t, "", loginMutation, map[string]any{"domain": "DEMO", "email": " Admin@Demo.Test ", "password": testPassword})
	if dig(resp.Data, "operatorLogin", "token") == nil {
		t.Fatalf("login with a differently written email failed: %+v", resp)
	}
}

func TestPermissionMatrix(t *testing.T) {
	s := startTest(t, nil)
	want := map[string][]string{
		demo.SupportEmail: {"SEARCH_CUSTOMERS", "VIEW_CUSTOMER", "RESET_PASSWORD", "REMOTE_ASSIST", "EDIT_CUSTOMER"},
		demo.AdminEmail: {"SEARCH_CUSTOMERS", "VIEW_CUSTOMER", "RESET_PASSWORD", "REMOTE_ASSIST", "EDIT_CUSTOMER",
			"SET_ACCOUNT_STATUS", "VIEW_AUDIT_LOG", "MANAGE_OPERATORS", "END_ANY_ASSIST", "USE_PLAYGROUND", "DELETE_CUSTOMER", "MANAGE_DOMAIN"},
	}
	ids := map[string]string{}
	tokens := map[string]string{}
	for email, perms := range want {
		resp := s.post(t, "", loginMutation, map[string]any{"domain": "demo", "email": email, "password": testPassword})
		var got []string
		for _, p := range dig(resp.Data, "operatorLogin", "operator", "permissions").([]any) {
			got = append(got, p.(string))
		}
		if !slices.Equal(got, perms) {
			t.Errorf("%s permissions = %v, want %v", email, got, perms)
		}
		ids[email] = dig(resp.Data, "operatorLogin", "operator", "id").(string)
		tokens[email] = dig(resp.Data, "operatorLogin", "token").(string)
	}
	// MANAGE_OPERATORS: an admin can read another operator, support cannot.
	q := `query($id: ID!) { node(id: $id) { id } }`
	if got := dig(s.post(t, tokens[demo.AdminEmail], q, map[string]any{"id": ids[demo.SupportEmail]}).Data, "node", "id"); got != ids[demo.SupportEmail] {
		t.Errorf("admin reading support operator: node = %v", got)
	}
	if got := dig(s.post(t, tokens[demo.SupportEmail], q, map[string]any{"id": ids[demo.AdminEmail]}).Data, "node"); got != nil {
		t.Errorf("support reading admin operator: node = %v, want null", got)
	}
	// Every team operation needs MANAGE_OPERATORS: SUPPORT is refused, nobody
	// signed out gets in, and nothing changes.
	team := map[string]struct {
		query string
		vars  map[string]any
	}{
		"operators":            {operatorsQuery, nil},
		"inviteOperator":       {inviteMutation, map[string]any{"name": "Eve", "email": "eve@demo.test", "role": "ADMIN"}},
		"reissueOperatorSetup": {reissueMutation, map[string]any{"id": ids[demo.AdminEmail]}},
		"updateOperator":       {updateOperatorMutation, map[string]any{"id": ids[demo.AdminEmail], "role": "SUPPORT"}},
		"setOperatorStatus":    {operatorStatusMutation, map[string]any{"id": ids[demo.AdminEmail], "status": "DISABLED", "reason": "x"}},
		"resetOperatorMfa":     {`mutation($id: ID!) { resetOperatorMfa(input: {operatorId: $id}) { userErrors { code } } }`, map[string]any{"id": ids[demo.AdminEmail]}},
		"updateDomainSettings": {`mutation { updateDomainSettings(input: {signUpPolicy: CLOSED}) { changed } }`, nil},
	}
	for name, op := range team {
		if resp := s.post(t, tokens[demo.SupportEmail], op.query, op.vars); resp.code() != "FORBIDDEN" {
			t.Errorf("SUPPORT %s: %+v, want FORBIDDEN", name, resp)
		}
		if resp := s.post(t, "", op.query, op.vars); resp.code() != "UNAUTHENTICATED" {
			t.Errorf("anonymous %s: %+v, want UNAUTHENTICATED", name, resp)
		}
	}
	// The operator's own security: any operator, nobody signed out.
	for name, q := range map[string]string{
		"changeOperatorPassword": `mutation { changeOperatorPassword(input: {currentPassword: "a", newPassword: "b"}) { token } }`,
		"enrollTotp":             `mutation { enrollTotp { secret } }`,
		"confirmTotp":            `mutation { confirmTotp(input: {code: "123456"}) { token } }`,
		"disableTotp":            `mutation { disableTotp(input: {password: "a", code: "123456"}) { operator { id } } }`,
		"domain":                 `{ domain { slug } }`,
		"temporaryPassword":      `{ temporaryPassword }`,
	} {
		if resp := s.post(t, "", q, nil); resp.code() != "UNAUTHENTICATED" {
			t.Errorf("anonymous %s: %+v, want UNAUTHENTICATED", name, resp)
		}
	}
	// RESET_PASSWORD: both roles get a temporary password to read out.
	for email, token := range tokens {
		if resp := s.post(t, token, `{ temporaryPassword }`, nil); resp.Data["temporaryPassword"] == nil {
			t.Errorf("%s temporaryPassword: %+v", email, resp)
		}
	}
	if resp := s.post(t, tokens[demo.AdminEmail], `{ viewer { ... on Operator { role status } } }`, nil); dig(resp.Data, "viewer", "role") != "ADMIN" || dig(resp.Data, "viewer", "status") != "ACTIVE" {
		t.Errorf("the refused operations changed the admin: %+v", resp)
	}
}

func TestDomainsAreWalls(t *testing.T) {
	s := startTest(t, nil)
	other := storetest.NewDomain(t, s.store)
	stranger := storetest.NewCustomer(other, "Stan", "Stranger", "stan@other.test", "")
	if err := s.store.ImportCustomers(context.Background(), []customers.Customer{stranger}, nil); err != nil {
		t.Fatal(err)
	}
	token := s.login(t, demo.AdminEmail)
	resp := s.post(t, token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": globalIDForTest("Customer", stranger.ID)})
	if resp.Data["node"] != nil || len(resp.Errors) != 0 {
		t.Fatalf("an operator of demo read a customer of %s: %+v", other.Slug, resp)
	}
	// The same query for a customer of its own domain works.
	d, _ := s.store.DomainBySlug(context.Background(), demo.Slug)
	own := storetest.NewCustomer(d, "Olga", "Own", "olga@demo.test", "")
	if err := s.store.ImportCustomers(context.Background(), []customers.Customer{own}, nil); err != nil {
		t.Fatal(err)
	}
	resp = s.post(t, token, `query($id: ID!) { node(id: $id) { ... on Customer { email } } }`, map[string]any{"id": globalIDForTest("Customer", own.ID)})
	if got := dig(resp.Data, "node", "email"); got != "olga@demo.test" {
		t.Fatalf("own customer: %+v", resp)
	}
}

func TestUnauthenticatedAndForgedRequests(t *testing.T) {
	s := startTest(t, nil)
	resp := s.post(t, "", `{ viewer { __typename } }`, nil)
	if resp.Data["viewer"] != nil || len(resp.Errors) != 0 {
		t.Fatalf("viewer without a session: %+v", resp)
	}
	resp = s.post(t, "forged-token", `query { node(id: "x") { id } }`, nil)
	if resp.code() != "UNAUTHENTICATED" {
		t.Fatalf("forged token: %+v, want UNAUTHENTICATED", resp)
	}
	token := s.login(t, demo.AdminEmail)
	if resp := s.post(t, token, `mutation { logout { success } }`, nil); dig(resp.Data, "logout", "success") != true {
		t.Fatalf("logout: %+v", resp)
	}
	if resp := s.post(t, token, `query { node(id: "x") { id } }`, nil); resp.code() != "UNAUTHENTICATED" {
		t.Fatalf("token after logout: %+v, want UNAUTHENTICATED", resp)
	}
}

func TestMongoStoreServesWithoutDemoData(t *testing.T) {
	uri := mongotest.URI(t)
	s := startTest(t, func(c *config) { c.MongoURI = uri })
	if code, body := get(t, s.URL()+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	if _, err := s.store.DomainBySlug(context.Background(), demo.Slug); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("demo domain in MongoDB: err = %v, want not found", err)
	}
}

func TestLogsCarryRequestIDsAndNoSecrets(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, demo.AdminEmail)
	s.post(t, token, `{ viewer { __typename } }`, nil)
	logs := s.logs.String()
	if !strings.Contains(logs, `"req_id"`) {
		t.Errorf("no req_id in logs:\n%s", logs)
	}
	for _, secret := range []string{token, testPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
}

// rawIDForTest returns the store id inside a global id.
func rawIDForTest(t *testing.T, gid string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(gid)
	_, id, ok := strings.Cut(string(b), ":")
	if err != nil || !ok {
		t.Fatalf("not a global id: %q", gid)
	}
	return id
}

// globalIDForTest builds a global id the way a client would forge one.
func globalIDForTest(typ, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id))
}
