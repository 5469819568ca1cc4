package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const (
	inviteMutation = `mutation($name: String!, $email: String!, $role: OperatorRole!) {
  inviteOperator(input: {name: $name, email: $email, role: $role}) { setupUrl operator { id email role status setupPending } userErrors { field code } }
}`
	setupMutation = `mutation($ticket: String!, $password: String!) {
  completeOperatorSetup(input: {ticket: $ticket, password: $password}) { token operator { email setupPending } userErrors { field code } }
}`
	reissueMutation        = `mutation($id: ID!) { reissueOperatorSetup(input: {operatorId: $id}) { setupUrl operator { setupPending } userErrors { code } } }`
	updateOperatorMutation = `mutation($id: ID!, $name: String, $role: OperatorRole) {
  updateOperator(input: {operatorId: $id, name: $name, role: $role}) { changed operator { name role } userErrors { field code } }
}`
	operatorStatusMutation = `mutation($id: ID!, $status: OperatorStatus!, $reason: String) {
  setOperatorStatus(input: {operatorId: $id, status: $status, reason: $reason}) { changed operator { status } userErrors { field code } }
}`
	operatorPasswordMutation = `mutation($current: String!, $next: String!) {
  changeOperatorPassword(input: {currentPassword: $current, newPassword: $next}) { token userErrors { field code } }
}`
	operatorsQuery = `query($q: String, $role: OperatorRole, $status: OperatorStatus, $first: Int, $after: String) {
  operators(query: $q, role: $role, status: $status, first: $first, after: $after) { edges { node { id email role status } } pageInfo { hasNextPage endCursor } }
}`
	newOperatorPassword = "a long new operator passphrase"
)

// userError returns the first userError code of payload field of resp, or "".
func userError(resp gqlResponse, field string) string {
	errs, _ := dig(resp.Data, field, "userErrors").([]any)
	if len(errs) == 0 {
		return ""
	}
	code, _ := dig(errs[0], "code").(string)
	return code
}

// invite invites an operator as admin and completes its setup; it returns
// the operator's id and token.
func invite(t *testing.T, s *testInstance, admin, name, email, role string) (string, string) {
	t.Helper()
	resp := s.post(t, admin, inviteMutation, map[string]any{"name": name, "email": email, "role": role})
	url, _ := dig(resp.Data, "inviteOperator", "setupUrl").(string)
	id, _ := dig(resp.Data, "inviteOperator", "operator", "id").(string)
	if !strings.HasPrefix(url, "/console#setup=") || id == "" || dig(resp.Data, "inviteOperator", "operator", "setupPending") != true {
		t.Fatalf("invite %s: %+v", email, resp)
	}
	resp = s.post(t, "", setupMutation, map[string]any{"ticket": strings.TrimPrefix(url, "/console#setup="), "password": newOperatorPassword})
	token, _ := dig(resp.Data, "completeOperatorSetup", "token").(string)
	if token == "" {
		t.Fatalf("setup %s: %+v", email, resp)
	}
	return id, token
}

// operatorSignInMutation is loginMutation with the second factor's fields.
const operatorSignInMutation = `mutation($email: String!, $password: String!) {
  operatorLogin(input: {domain: "demo", email: $email, password: $password}) { token deviceToken mfaRequired challenge mustEnrollMfa userErrors { code message } }
}`

// operatorSignIn signs an operator of the demo domain in; the token is ""
// when no session was opened.
func operatorSignIn(t *testing.T, s *testInstance, email, password string) (string, gqlResponse) {
	t.Helper()
	resp := s.post(t, "", operatorSignInMutation, map[string]any{"email": email, "password": password})
	token, _ := dig(resp.Data, "operatorLogin", "token").(string)
	return token, resp
}

// The team's life through the API: invite, set up, list, rename, promote,
// demote, disable, reissue, change one's own password; on both stores.
func TestTeamAdministration(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := newAccountFixture(t, kind.edit(t)).testInstance
			admin, support := s.login(t, demo.AdminEmail), s.login(t, demo.SupportEmail)

			// Invitation: only MANAGE_OPERATORS; the rules of names and emails; one email per domain.
			if resp := s.post(t, support, inviteMutation, map[string]any{"name": "X", "email": "x@demo.test", "role": "SUPPORT"}); resp.code() != "FORBIDDEN" {
				t.Errorf("SUPPORT invites: %+v", resp)
			}
			for _, bad := range []struct{ name, email, code string }{{"", "y@demo.test", "REQUIRED"}, {"Yan", "not an email", "INVALID"}, {"Sam", demo.SupportEmail, "EMAIL_TAKEN"}} {
				if resp := s.post(t, admin, inviteMutation, map[string]any{"name": bad.name, "email": bad.email, "role": "SUPPORT"}); !strings.Contains(userError(resp, "inviteOperator"), bad.code) {
					t.Errorf("invite %q %q: %+v, want %s", bad.name, bad.email, resp, bad.code)
				}
			}
			resp := s.post(t, admin, inviteMutation, map[string]any{"name": "Nia New", "email": "Nia@Demo.test ", "role": "SUPPORT"})
			url, _ := dig(resp.Data, "inviteOperator", "setupUrl").(string)
			niaID, _ := dig(resp.Data, "inviteOperator", "operator", "id").(string)
			ticket := strings.TrimPrefix(url, "/console#setup=")
			if ticket == url || len(ticket) < 20 {
				t.Fatalf("invite: %+v", resp)
			}
			// No password is no sign-in: a blank one is REQUIRED, any other wrong.
			if _, resp := operatorSignIn(t, s, "nia@demo.test", ""); userError(resp, "operatorLogin") != "REQUIRED" {
				t.Errorf("an invited operator signs in without a password: %+v", resp)
			}
			if _, resp := operatorSignIn(t, s, "nia@demo.test", " "); userError(resp, "operatorLogin") != "INVALID_CREDENTIALS" {
				t.Errorf("an invited operator signs in with a password of a space: %+v", resp)
			}
			if resp := s.post(t, "", setupMutation, map[string]any{"ticket": ticket, "password": "short"}); userError(resp, "completeOperatorSetup") == "" {
				t.Errorf("setup with a short password: %+v", resp)
			}
			if resp := s.post(t, "", setupMutation, map[string]any{"ticket": ticket + "x", "password": newOperatorPassword}); userError(resp, "completeOperatorSetup") != "INVALID_TICKET" {
				t.Errorf("setup with a wrong ticket: %+v", resp)
			}
			resp = s.post(t, "", setupMutation, map[string]any{"ticket": ticket, "password": newOperatorPassword})
			nia, _ := dig(resp.Data, "completeOperatorSetup", "token").(string)
			if nia == "" || dig(resp.Data, "completeOperatorSetup", "operator", "setupPending") != false {
				t.Fatalf("setup: %+v", resp)
			}
			if resp := s.post(t, "", setupMutation, map[string]any{"ticket": ticket, "password": newOperatorPassword}); userError(resp, "completeOperatorSetup") != "INVALID_TICKET" {
				t.Errorf("a setup link used twice: %+v", resp)
			}
			if token, resp := operatorSignIn(t, s, "nia@demo.test", newOperatorPassword); token == "" {
				t.Errorf("Nia signs in: %+v", resp)
			}

			// The list: search, filters, pages; only MANAGE_OPERATORS.
			list := func(vars map[string]any) []string {
				t.Helper()
				resp := s.post(t, admin, operatorsQuery, vars)
				var out []string
				edges, _ := dig(resp.Data, "operators", "edges").([]any)
				for _, e := range edges {
					out = append(out, dig(e, "node", "email").(string))
				}
				if len(resp.Errors) > 0 {
					t.Fatalf("operators %v: %+v", vars, resp.Errors)
				}
				return out
			}
			if got := strings.Join(list(nil), ","); got != "admin@demo.test,nia@demo.test,support@demo.test" {
				t.Errorf("operators: %s", got)
			}
			if got := strings.Join(list(map[string]any{"q": "NEW"}), ","); got != "nia@demo.test" {
				t.Errorf("operators matching NEW: %s", got)
			}
			if got := strings.Join(list(map[string]any{"role": "ADMIN"}), ","); got != "admin@demo.test" {
				t.Errorf("ADMIN operators: %s", got)
			}
			page := s.post(t, admin, operatorsQuery, map[string]any{"first": 2})
			after, _ := dig(page.Data, "operators", "pageInfo", "endCursor").(string)
			if dig(page.Data, "operators", "pageInfo", "hasNextPage") != true || strings.Join(list(map[string]any{"first": 2, "after": after}), ",") != "support@demo.test" {
				t.Errorf("paging: %+v", page)
			}
			if resp := s.post(t, support, operatorsQuery, nil); resp.code() != "FORBIDDEN" {
				t.Errorf("SUPPORT lists operators: %+v", resp)
			}

			// Roles: nobody changes its own; the last ADMIN stays one.
			adminID := dig(s.post(t, admin, `{ viewer { ... on Operator { id } } }`, nil).Data, "viewer", "id").(string)
			if resp := s.post(t, admin, updateOperatorMutation, map[string]any{"id": adminID, "role": "SUPPORT"}); userError(resp, "updateOperator") != "LAST_ADMIN" {
				t.Errorf("the last ADMIN demotes itself: %+v", resp)
			}
			resp = s.post(t, admin, operatorStatusMutation, map[string]any{"id": adminID, "status": "DISABLED", "reason": "x"})
			refusals, _ := dig(resp.Data, "setOperatorStatus", "userErrors").([]any)
			if userError(resp, "setOperatorStatus") != "LAST_ADMIN" || fmt.Sprint(dig(refusals[0], "field")) != "[status]" {
				t.Errorf("the last ADMIN disables itself: %+v (a refusal on the field the mutation has: status)", resp)
			}
			resp = s.post(t, admin, updateOperatorMutation, map[string]any{"id": niaID, "name": "Nia Admin", "role": "ADMIN"})
			if dig(resp.Data, "updateOperator", "changed") != true || dig(resp.Data, "updateOperator", "operator", "role") != "ADMIN" {
				t.Fatalf("promote Nia: %+v", resp)
			}
			if resp := s.post(t, nia, `{ viewer { ... on Operator { role } } }`, nil); dig(resp.Data, "viewer", "role") != "ADMIN" {
				t.Errorf("a promotion takes effect on the open session: %+v", resp)
			}
			if resp := s.post(t, admin, updateOperatorMutation, map[string]any{"id": adminID, "role": "SUPPORT"}); userError(resp, "updateOperator") != "SELF" {
				t.Errorf("an ADMIN demotes itself: %+v", resp)
			}
			// Demoting Nia ends her sessions at once.
			resp = s.post(t, admin, updateOperatorMutation, map[string]any{"id": niaID, "role": "SUPPORT"})
			if dig(resp.Data, "updateOperator", "changed") != true {
				t.Fatalf("demote Nia: %+v", resp)
			}
			if resp := s.post(t, nia, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("Nia's session after the demotion: %+v", resp)
			}
			nia, _ = operatorSignIn(t, s, "nia@demo.test", newOperatorPassword)

			// Her own password: the current one is checked; other sessions end.
			if resp := s.post(t, nia, operatorPasswordMutation, map[string]any{"current": "wrong", "next": "another long passphrase"}); userError(resp, "changeOperatorPassword") != "WRONG_PASSWORD" {
				t.Errorf("wrong current password: %+v", resp)
			}
			if got := lastAuditOf(t, s, admin, niaID); got != "authn_password_change failure: wrong current password" {
				t.Errorf("the audit record of a wrong current password: %q", got)
			}
			for _, line := range strings.Split(s.logs.String(), "\n") {
				if strings.Contains(line, "refused: wrong current password") && strings.Count(line, `"operator_id"`) != 1 {
					t.Errorf("the warn line of a wrong current password names the operator once: %s", line)
				}
			}
			resp = s.post(t, nia, operatorPasswordMutation, map[string]any{"current": newOperatorPassword, "next": "another long passphrase"})
			fresh, _ := dig(resp.Data, "changeOperatorPassword", "token").(string)
			if fresh == "" {
				t.Fatalf("change password: %+v", resp)
			}
			if resp := s.post(t, nia, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("the old session after the change: %+v", resp)
			}
			if resp := s.post(t, fresh, `{ viewer { __typename } }`, nil); dig(resp.Data, "viewer", "__typename") != "Operator" {
				t.Errorf("the new token: %+v", resp)
			}

			// Reissue: the password stops working, the sessions end, the new link works.
			resp = s.post(t, admin, reissueMutation, map[string]any{"id": niaID})
			url, _ = dig(resp.Data, "reissueOperatorSetup", "setupUrl").(string)
			if url == "" || dig(resp.Data, "reissueOperatorSetup", "operator", "setupPending") != true {
				t.Fatalf("reissue: %+v", resp)
			}
			if resp := s.post(t, fresh, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("a session after the reissue: %+v", resp)
			}
			if token, _ := operatorSignIn(t, s, "nia@demo.test", "another long passphrase"); token != "" {
				t.Error("the old password works after the reissue")
			}
			if resp := s.post(t, "", setupMutation, map[string]any{"ticket": strings.TrimPrefix(url, "/console#setup="), "password": newOperatorPassword}); dig(resp.Data, "completeOperatorSetup", "token") == nil {
				t.Errorf("the reissued link: %+v", resp)
			}

			// Another domain's operator is not found and stays as it is.
			other := storetest.NewDomain(t, s.store)
			stranger := storetest.NewOperator(t, s.store, other, "stranger@other.test")
			resetMFA := `mutation($id: ID!) { resetOperatorMfa(input: {operatorId: $id}) { userErrors { code } } }`
			for _, q := range []string{updateOperatorMutation, operatorStatusMutation, reissueMutation, resetMFA} {
				vars := map[string]any{"id": globalIDForTest("Operator", stranger.ID), "name": "Renamed", "status": "DISABLED", "reason": "x"}
				if resp := s.post(t, admin, q, vars); resp.code() != "NOT_FOUND" {
					t.Errorf("%.40s on another domain's operator: %+v", q, resp)
				}
			}
			if o, _ := s.store.OperatorByID(context.Background(), stranger.ID); o.Name == "Renamed" || o.Status != "ACTIVE" || o.Version != stranger.Version {
				t.Errorf("the stranger changed: %+v", o)
			}

			// Everything above is in the audit log, with its actor.
			resp = s.post(t, admin, `query($id: ID) { auditLog(operatorId: $id, first: 100) { edges { node { action reason } } } }`, map[string]any{"id": adminID})
			actions := map[string]int{}
			edges, _ := dig(resp.Data, "auditLog", "edges").([]any)
			for _, e := range edges {
				actions[dig(e, "node", "action").(string)]++
			}
			if actions["user_created"] != 1 || actions["user_updated"] < 3 {
				t.Errorf("the admin's audit entries: %v (%+v)", actions, resp.Errors)
			}
			// The time filters: since is inclusive, until exclusive.
			count := func(since, until time.Time) int {
				resp := s.post(t, admin, `query($id: ID, $since: Time, $until: Time) { auditLog(operatorId: $id, since: $since, until: $until, first: 100) { edges { node { at } } } }`,
					map[string]any{"id": adminID, "since": since.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339Nano)})
				edges, _ := dig(resp.Data, "auditLog", "edges").([]any)
				return len(edges)
			}
			now := s.clock.Now()
			if all, none, later := count(now.Add(-time.Hour), now.Add(time.Hour)), count(now.Add(-time.Hour), now.Add(-time.Minute)), count(now.Add(time.Minute), now.Add(time.Hour)); all != len(edges) || none != 0 || later != 0 {
				t.Errorf("auditLog by time: %d in the hour around now (want %d), %d before, %d after", all, len(edges), none, later)
			}
		})
	}
}

// Disabling an operator ends it everywhere at once: its next request, its
// open socket (4403) and the remote assistance it runs (revoked, the
// customer's assist tab signed out).
func TestDisablingAnOperatorEndsItsAccess(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin, support := f.login(t, demo.AdminEmail), f.login(t, demo.SupportEmail)
			supportID := dig(f.post(t, support, `{ viewer { ... on Operator { id } } }`, nil).Data, "viewer", "id").(string)
			socket := subscribe(t, f.testInstance, "graphql-transport-ws", support, statusSubscription, nil).readAll()
			assistID, ticket := f.startAssist(t, support, "helping")
			assistToken, _ := f.redeem(t, ticket)
			assistSocket := subscribe(t, f.testInstance, "graphql-transport-ws", assistToken, `subscription { accountEvents { type } }`, nil).readAll()

			if resp := f.post(t, admin, operatorStatusMutation, map[string]any{"id": supportID, "status": "DISABLED"}); userError(resp, "setOperatorStatus") != "REQUIRED" {
				t.Errorf("disable without a reason: %+v", resp)
			}
			resp := f.post(t, admin, operatorStatusMutation, map[string]any{"id": supportID, "status": "DISABLED", "reason": "left the company"})
			if dig(resp.Data, "setOperatorStatus", "changed") != true {
				t.Fatalf("disable: %+v", resp)
			}
			if resp := f.post(t, support, `{ viewer { __typename } }`, nil); resp.code() != "ACCOUNT_DISABLED" || !strings.Contains(resp.Errors[0].Message, "Ask an ADMIN") {
				t.Errorf("the disabled operator's next request (told to ask an ADMIN): %+v", resp)
			}
			deadline := time.After(10 * time.Second)
			for closed := false; !closed; {
				select {
				case m := <-socket:
					if m.err != nil {
						if closeCode(m.err) != closeForbidden {
							t.Errorf("the operator's socket closed with %v, want 4403", m.err)
						}
						closed = true
					}
				case <-deadline:
					t.Fatal("the disabled operator's socket stayed open")
				}
			}
			for closed := false; !closed; {
				select {
				case m := <-assistSocket:
					closed = m.err != nil
				case <-deadline:
					t.Fatal("the assist tab's socket stayed open")
				}
			}
			if resp := f.post(t, assistToken, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("the assist session after its operator was disabled: %+v", resp)
			}
			state := ""
			for end := time.Now().Add(5 * time.Second); state != "REVOKED" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				state, _ = dig(f.post(t, admin, `query($id: ID!) { node(id: $id) { ... on AssistSession { state } } }`, map[string]any{"id": assistID}).Data, "node", "state").(string)
			}
			if state != "REVOKED" {
				t.Errorf("the assistance is %q, want REVOKED", state)
			}
			if token, resp := operatorSignIn(t, f.testInstance, demo.SupportEmail, testPassword); token != "" || userError(resp, "operatorLogin") != "ACCOUNT_DISABLED" ||
				!strings.Contains(fmt.Sprint(resp.Data), "Ask an ADMIN of your company") {
				t.Errorf("sign-in of the disabled operator (told to ask an ADMIN, not customer support): %+v", resp)
			}
			// A setup link for a disabled operator would not work: refused, nothing changes.
			if resp := f.post(t, admin, reissueMutation, map[string]any{"id": supportID}); userError(resp, "reissueOperatorSetup") != "ACCOUNT_DISABLED" {
				t.Errorf("a setup link for a disabled operator: %+v", resp)
			}
			resp = f.post(t, admin, operatorStatusMutation, map[string]any{"id": supportID, "status": "ACTIVE"})
			if dig(resp.Data, "setOperatorStatus", "changed") != true {
				t.Fatalf("enable: %+v", resp)
			}
			if token, resp := operatorSignIn(t, f.testInstance, demo.SupportEmail, testPassword); token == "" {
				t.Errorf("sign-in after enabling: %+v", resp)
			}
		})
	}
}

// lastAuditOf returns the newest audit record with operatorID as its actor,
// as ADMIN token reads it: "action outcome: reason".
func lastAuditOf(t *testing.T, s *testInstance, token, operatorID string) string {
	t.Helper()
	resp := s.post(t, token, `query($id: ID) { auditLog(operatorId: $id, first: 1) { edges { node { action outcome reason } } } }`, map[string]any{"id": operatorID})
	edges, _ := dig(resp.Data, "auditLog", "edges").([]any)
	if len(edges) == 0 {
		t.Fatalf("auditLog: %+v", resp)
	}
	n := dig(edges[0], "node")
	return fmt.Sprintf("%v %v: %v", dig(n, "action"), dig(n, "outcome"), dig(n, "reason"))
}

// Setup links beside the other states of an operator: disabling an invited
// operator voids its link, which stays void once the operator is enabled
// again (a new one is reissued); a link reissued for an operator who kept
// its authenticator app sets the password and goes on with a challenge for
// a code, as operatorLogin does (tryout 20: the first answered
// UNAUTHENTICATED with the password already set, the second worked again
// after enabling); on both stores.
func TestSetupLinksOfDisabledOperatorsAndOfOperatorsWithASecondFactor(t *testing.T) {
	const fullSetup = `mutation($ticket: String!, $password: String!) {
  completeOperatorSetup(input: {ticket: $ticket, password: $password}) { token mfaRequired challenge operator { email } userErrors { field code } }
}`
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := newAccountFixture(t, kind.edit(t)).testInstance
			admin := s.login(t, demo.AdminEmail)
			adminID := dig(s.post(t, admin, `{ viewer { ... on Operator { id } } }`, nil).Data, "viewer", "id")
			resp := s.post(t, admin, `mutation($id: ID!) { reissueOperatorSetup(input: {operatorId: $id}) { userErrors { field code message } } }`, map[string]any{"id": adminID})
			if userError(resp, "reissueOperatorSetup") != "SELF" || !strings.Contains(fmt.Sprint(resp.Data), "setup link for itself") {
				t.Errorf("a setup link for oneself: %+v, want SELF saying so", resp)
			}
			resp = s.post(t, admin, inviteMutation, map[string]any{"name": "Tia Lee", "email": "tia@demo.test", "role": "SUPPORT"})
			id, _ := dig(resp.Data, "inviteOperator", "operator", "id").(string)
			url, _ := dig(resp.Data, "inviteOperator", "setupUrl").(string)
			leaked := strings.TrimPrefix(url, "/console#setup=")
			if id == "" || leaked == url {
				t.Fatalf("invite: %+v", resp)
			}
			for _, status := range []string{"DISABLED", "ACTIVE"} {
				if resp := s.post(t, admin, operatorStatusMutation, map[string]any{"id": id, "status": status, "reason": "the link leaked"}); dig(resp.Data, "setOperatorStatus", "changed") != true {
					t.Fatalf("set %s: %+v", status, resp)
				}
				if resp := s.post(t, "", fullSetup, map[string]any{"ticket": leaked, "password": newOperatorPassword}); userError(resp, "completeOperatorSetup") != "INVALID_TICKET" {
					t.Errorf("the link of an operator disabled (now %s): %+v, want INVALID_TICKET", status, resp)
				}
			}
			resp = s.post(t, admin, reissueMutation, map[string]any{"id": id})
			url, _ = dig(resp.Data, "reissueOperatorSetup", "setupUrl").(string)
			resp = s.post(t, "", fullSetup, map[string]any{"ticket": strings.TrimPrefix(url, "/console#setup="), "password": newOperatorPassword})
			tia, _ := dig(resp.Data, "completeOperatorSetup", "token").(string)
			if tia == "" || dig(resp.Data, "completeOperatorSetup", "mfaRequired") != false {
				t.Fatalf("the reissued link: %+v", resp)
			}

			stolen, _ := operatorSignIn(t, s, "tia@demo.test", newOperatorPassword) // a session of the password alone, elsewhere
			secret, _, verified := enrollTOTP(t, s, tia)
			if resp := s.post(t, stolen, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("a session of the password alone after the second factor was turned on: %+v, want it ended", resp)
			}
			if resp := s.post(t, verified, `{ viewer { __typename } }`, nil); dig(resp.Data, "viewer", "__typename") != "Operator" {
				t.Errorf("the session confirmTotp gave: %+v", resp)
			}
			s.clock.Advance(30 * time.Second) // past the code confirmTotp used
			resp = s.post(t, admin, reissueMutation, map[string]any{"id": id})
			url, _ = dig(resp.Data, "reissueOperatorSetup", "setupUrl").(string)
			const lostAndFound = "a password found again at last"
			resp = s.post(t, "", fullSetup, map[string]any{"ticket": strings.TrimPrefix(url, "/console#setup="), "password": lostAndFound})
			c, _ := dig(resp.Data, "completeOperatorSetup", "challenge").(string)
			if len(resp.Errors) > 0 || c == "" || dig(resp.Data, "completeOperatorSetup", "mfaRequired") != true ||
				dig(resp.Data, "completeOperatorSetup", "token") != nil || dig(resp.Data, "completeOperatorSetup", "operator") != nil {
				t.Fatalf("a reissued link of an operator with a second factor: %+v, want a challenge and no session", resp)
			}
			code, _ := totp.GenerateCode(secret, s.clock.Now())
			resp = s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": code})
			if dig(resp.Data, "verifyOperatorMfa", "token") == nil || dig(resp.Data, "verifyOperatorMfa", "operator", "email") != "tia@demo.test" {
				t.Fatalf("the code after the setup link: %+v", resp)
			}
			challenge(t, s, "tia@demo.test", lostAndFound) // the new password, and the second factor still asked
		})
	}
}
