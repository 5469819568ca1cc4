package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/faults"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/loadgen"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const deleteCustomerMutation = `mutation($id: ID!, $reason: String) {
  deleteCustomer(input: {customerId: $id, reason: $reason}) { deletedCustomerId userErrors { field code message } }
}`

// The customer erased, and what of it must be nowhere in the store
// afterwards: its profile as typed, as stored (the email in lower case) and
// as the search index folds it, before and after a correction.
const (
	erasedFirst    = "Quillon"
	erasedLast     = "Xerxesdóttir"
	erasedEmail    = "Quillon.Xerxes@Erasure-Test.example"
	erasedPhone    = "+1 (555) 013-9876"
	erasedNewEmail = "zq.renamed@erasure-test.example"
	erasedNewPhone = "+1 555 013 4321"
	erasedPassword = "ember-quartz-lagoon-81"
	erasureReason  = "erasure request, ticket 4711"
)

var erasedTraces = []string{
	erasedFirst, strings.ToLower(erasedFirst), erasedLast, strings.ToLower(erasedLast), "xerxesdottir",
	erasedEmail, strings.ToLower(erasedEmail), erasedNewEmail,
	erasedPhone, "5550139876", erasedNewPhone, "5550134321",
}

func TestDeleteCustomerErasesEverything(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := startTest(t, kind.edit(t))
			f := addCustomer(t, s) // the demo domain, on MongoDB too
			ctx := context.Background()
			support, admin := f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
			d, _ := f.store.DomainBySlug(ctx, demo.Slug)

			// The customer: created by support, with a device, signed in,
			// assisted, its email and phone corrected (sealed details).
			resp := f.post(t, support, createCustomerMutation, map[string]any{"in": map[string]any{
				"firstName": erasedFirst, "lastName": erasedLast, "email": erasedEmail, "phone": erasedPhone,
				"password": erasedPassword, "confirmPassword": erasedPassword, "requireChangeOnNextLogin": false}})
			gid, _ := dig(resp.Data, "createCustomer", "customer", "id").(string)
			if gid == "" {
				t.Fatalf("createCustomer: %+v", resp)
			}
			victim := &accountFixture{testInstance: s}
			victim.customer, _ = f.store.CustomerByID(ctx, rawIDForTest(t, gid))
			dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: victim.customer.ID, Name: erasedFirst + " hall", Model: "T-100",
				SerialNumber: "T100-2025-ERASE", Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: now(), UpdatedAt: now()}
			if err := f.store.InsertDevices(ctx, []devices.Device{dev}); err != nil {
				t.Fatal(err)
			}
			token := signInErased(t, victim, strings.ToLower(erasedEmail))
			version := victim.current(t, support)["version"]
			resp = f.post(t, support, updateCustomerMutation, profileInput(gid, version, map[string]any{"email": erasedNewEmail, "phone": erasedNewPhone}))
			if dig(resp.Data, "updateCustomer", "changed") != true {
				t.Fatalf("updateCustomer: %+v", resp)
			}
			assistID, ticket := victim.startAssist(t, support, "thermostat offline")
			assistToken, code := victim.redeem(t, ticket)
			if assistToken == "" {
				t.Fatalf("redeem: %s", code)
			}

			// Refused, and nothing changes: SUPPORT, no reason, a blank
			// reason, another domain's ADMIN.
			if resp := f.post(t, support, deleteCustomerMutation, map[string]any{"id": gid, "reason": erasureReason}); resp.code() != codeForbidden {
				t.Fatalf("SUPPORT deleting: %+v, want FORBIDDEN", resp)
			}
			for _, reason := range []any{nil, "   "} {
				resp := f.post(t, admin, deleteCustomerMutation, map[string]any{"id": gid, "reason": reason})
				if code, field := firstUserError(resp, "deleteCustomer"); code != "REQUIRED" || field != "reason" || dig(resp.Data, "deleteCustomer", "deletedCustomerId") != nil {
					t.Fatalf("deleting with reason %q: %+v, want REQUIRED on reason", reason, resp)
				}
			}
			other := storetest.NewDomain(t, f.store)
			stranger := storetest.NewCustomer(other, "Stan", "Stranger", "stan@other.test", "")
			if err := f.store.ImportCustomers(ctx, []customers.Customer{stranger}, nil); err != nil {
				t.Fatal(err)
			}
			if resp := f.post(t, admin, deleteCustomerMutation, map[string]any{"id": globalIDForTest("Customer", stranger.ID), "reason": erasureReason}); resp.code() != codeNotFound {
				t.Fatalf("deleting another domain's customer: %+v, want NOT_FOUND", resp)
			}
			addOperator(t, f, other.ID, "admin@other.test")
			login := f.post(t, "", loginMutation, map[string]any{"domain": other.Slug, "email": "admin@other.test", "password": testPassword})
			strangerAdmin, _ := dig(login.Data, "operatorLogin", "token").(string)
			if resp := f.post(t, strangerAdmin, deleteCustomerMutation, map[string]any{"id": gid, "reason": erasureReason}); resp.code() != codeNotFound {
				t.Fatalf("another domain's ADMIN deleting: %+v, want NOT_FOUND", resp)
			}
			if _, err := f.store.CustomerByID(ctx, stranger.ID); err != nil {
				t.Fatalf("the other domain's customer after the refusal: %v", err)
			}
			if c, err := f.store.CustomerByID(ctx, victim.customer.ID); err != nil || c.Version != int64(version.(float64))+1 {
				t.Fatalf("the customer after the refusals: %+v %v", c, err)
			}
			if resp := f.post(t, token, viewerQuery, nil); dig(resp.Data, "viewer", "email") != erasedNewEmail {
				t.Fatalf("the customer's token after the refusals: %+v", resp)
			}

			// The erasure, with the dashboard open.
			ws := victim.subscribeAccountEvents(t, token).readAll()
			sent := time.Now()
			resp = f.post(t, admin, deleteCustomerMutation, map[string]any{"id": gid, "reason": erasureReason})
			if dig(resp.Data, "deleteCustomer", "deletedCustomerId") != gid || len(dig(resp.Data, "deleteCustomer", "userErrors").([]any)) != 0 {
				t.Fatalf("deleteCustomer: %+v", resp)
			}

			// Sessions end at once; the socket hears of it, then closes (4401).
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the customer's token after the erasure: %+v, want UNAUTHENTICATED", resp)
			}
			if resp := f.post(t, assistToken, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the assist token after the erasure: %+v, want UNAUTHENTICATED", resp)
			}
			closed := awaitErasureClose(t, ws)
			t.Logf("socket closed %v after the mutation was sent", closed.Sub(sent).Round(time.Millisecond))
			// Every instance revokes the running assistance.
			deadline := time.Now().Add(5 * time.Second)
			for {
				a, err := f.store.AssistByID(ctx, rawIDForTest(t, assistID))
				if err == nil && a.State == assist.StateRevoked {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the assistance after the erasure: %+v %v, want REVOKED", a, err)
				}
				time.Sleep(20 * time.Millisecond)
			}

			// The account, its devices and its sign-in are gone.
			if resp := f.post(t, admin, `query($id: ID!) { customer(id: $id) { id } }`, map[string]any{"id": gid}); resp.Data["customer"] != nil || len(resp.Errors) != 0 {
				t.Fatalf("customer(id) after the erasure: %+v, want null", resp)
			}
			if ds, err := f.store.DevicesByCustomer(ctx, victim.customer.ID); err != nil || len(ds) != 0 {
				t.Fatalf("devices after the erasure: %+v %v", ds, err)
			}
			// Its assistance stays listed, with no customer: the list of the domain's
			// assistances answers (a tryout's listing was null as a whole).
			resp = f.post(t, admin, `{ assistSessions(first: 100) { edges { node { id state customer { id } } } } }`, nil)
			var erased map[string]any
			if sessions, ok := resp.Data["assistSessions"].(map[string]any); ok && len(resp.Errors) == 0 {
				for _, e := range sessions["edges"].([]any) {
					if node := e.(map[string]any)["node"].(map[string]any); node["id"] == assistID {
						erased = node
					}
				}
			}
			if erased == nil || erased["customer"] != nil || erased["state"] != "REVOKED" {
				t.Fatalf("assistSessions after the erasure: %+v, want the erased customer's assistance listed, REVOKED, with no customer", resp)
			}
			if _, err := f.store.DeviceByID(ctx, dev.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("the device after the erasure: %v", err)
			}
			for _, email := range []string{erasedNewEmail, strings.ToLower(erasedEmail)} {
				resp := f.post(t, "", `mutation($e: String!, $p: String!) { login(input: {domain: "demo", email: $e, password: $p}) { token userErrors { code } } }`,
					map[string]any{"e": email, "p": erasedPassword})
				if code, _ := firstUserError(resp, "login"); code != "INVALID_CREDENTIALS" {
					t.Fatalf("signing in as %s after the erasure: %+v", email, resp)
				}
			}
			if hits := searchEmails(t, victim, admin, erasedFirst); len(hits) != 0 {
				t.Fatalf("search for the erased customer: %v", hits)
			}

			// The audit log keeps its records, by id only: the erasure's,
			// with the reason and the ADMIN, and the correction's, whose
			// details are erased with the data key.
			adminOp, _ := f.store.OperatorByEmail(ctx, d.ID, demo.AdminEmail)
			records, _ := f.store.FindAudit(ctx, audit.Query{DomainID: d.ID, CustomerID: victim.customer.ID, Action: audit.ActionUserDeleted, Limit: 10})
			if len(records) != 1 || records[0].Reason != erasureReason || records[0].ActorID != adminOp.ID || records[0].ActorType != audit.ActorOperator ||
				records[0].TargetID != victim.customer.ID || records[0].Details != "" {
				t.Fatalf("the erasure's audit record: %+v", records)
			}
			if got := profileRecords(t, victim, admin); len(got) != 1 || got[0]["details"] != "[erased]" {
				t.Fatalf("the correction's record after the erasure: %+v", got)
			}

			// Nothing of the profile remains in the store: every byte of
			// the SQLite files (write-ahead log included), every document of
			// the MongoDB database.
			for where, text := range storedText(t, s) {
				for _, trace := range erasedTraces {
					if strings.Contains(text, trace) {
						t.Errorf("%s still holds %q", where, trace)
					}
				}
			}

			// The email may sign up again.
			for _, email := range []string{erasedNewEmail, erasedEmail} {
				resp := f.post(t, "", signUpMutation, signUpInput("demo", email, nil))
				if dig(resp.Data, "signUp", "token") == nil {
					t.Fatalf("signing up again with %s: %+v", email, resp)
				}
			}
		})
	}
}

// signInErased signs the customer in with erasedPassword and returns its token.
func signInErased(t *testing.T, f *accountFixture, email string) string {
	t.Helper()
	resp := f.post(t, "", customerLoginMutation, map[string]any{"email": email, "password": erasedPassword})
	token, _ := dig(resp.Data, "login", "token").(string)
	if token == "" {
		t.Fatalf("login as %s: %+v", email, resp)
	}
	return token
}

// storedText returns everything the server's store holds, by where it
// holds it: for SQLite every file of the data directory (database,
// write-ahead log, shared memory) as bytes, for MongoDB every document of
// every collection of the database as extended JSON.
func storedText(t *testing.T, s *testInstance) map[string]string {
	t.Helper()
	out := map[string]string{}
	if s.cfg.MongoURI == "" {
		err := filepath.WalkDir(s.cfg.DataDir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			out[filepath.Base(path)] = string(bytes.ToValidUTF8(b, nil)) // the traces are valid UTF-8
			return err
		})
		if err != nil || len(out) == 0 {
			t.Fatalf("read %s: %v (%d files)", s.cfg.DataDir, err, len(out))
		}
		return out
	}
	ctx := context.Background()
	client, err := mongodriver.Connect(options.Client().ApplyURI(s.cfg.MongoURI))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	u, _ := url.Parse(s.cfg.MongoURI)
	db := client.Database(strings.TrimPrefix(u.Path, "/"))
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil || len(names) == 0 {
		t.Fatalf("collections: %v %v", names, err)
	}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		var text strings.Builder
		for cur.Next(ctx) {
			doc, err := bson.MarshalExtJSON(cur.Current, false, false)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			text.Write(doc)
			text.WriteByte('\n')
		}
		if err := cur.Err(); err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		_ = cur.Close(ctx)
		out["collection "+name] = text.String()
	}
	return out
}

// A process killed in the middle of an erasure leaves, after a restart, the
// customer erased entirely (the row or document, its devices, its data key)
// with exactly one record and one event, or nothing erased and nothing
// recorded. On MongoDB the kill comes after the decisive write, so the
// start-up finishes the erasure; on SQLite before the commit, so nothing
// happened.
func TestErasureKilledMidwayIsAllOrNothing(t *testing.T) {
	for _, kind := range []string{"sqlite", "mongo"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			var env []string
			var open func() store.Store
			switch kind {
			case "sqlite":
				dir := t.TempDir()
				env = []string{"DATA_DIR=" + dir}
				open = func() store.Store {
					st, err := sqlite.Open(ctx, dir)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			default:
				uri := mongotest.URI(t)
				env = []string{"MONGODB_URI=" + uri}
				open = func() store.Store {
					st, err := mongo.Open(ctx, uri)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			}
			st := open()
			victim := addCustomer(t, &testInstance{server: &server{store: st}})
			if _, err := st.CustomerKey(ctx, victim.customer.ID); err != nil {
				t.Fatal(err)
			}
			_ = st.Close(ctx)

			addr := freeAddr(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), append(env, "BFF_TEST_MAIN=1", "LISTEN_ADDR="+addr, "METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=error",
				"DEMO_PASSWORD="+testPassword, "BFF_TEST_FAULT="+faults.AfterCustomerChange)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			if err := loadgen.WaitReady(ctx, "http://"+addr); err != nil {
				t.Fatal(err)
			}
			remote := &accountFixture{testInstance: &testInstance{url: "http://" + addr}, customer: victim.customer}
			admin := remote.login(t, demo.AdminEmail)
			body, _ := json.Marshal(map[string]any{"query": deleteCustomerMutation, "variables": map[string]any{"id": remote.customerID(), "reason": "crash"}})
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+admin)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("the mutation was answered (%d): the fault did not fire", resp.StatusCode)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatal("the process did not die")
			}

			// The restart: opening the store finishes or forgets the erasure.
			st = open()
			defer st.Close(ctx)
			c := victim.customer
			_, err := st.CustomerByID(ctx, c.ID)
			erased := errors.Is(err, apperr.ErrNotFound)
			if err != nil && !erased {
				t.Fatal(err)
			}
			if kind == "mongo" && !erased {
				t.Fatal("the erasure decided before the kill was not finished at start-up")
			}
			records, _ := st.FindAudit(ctx, audit.Query{DomainID: c.DomainID, CustomerID: c.ID, Action: audit.ActionUserDeleted, Limit: 10})
			evs, _ := storetest.RecentEvents(ctx, st, c.DomainID, 100)
			deletions := 0
			for _, e := range evs {
				if e.Type == events.CustomerDeleted && e.CustomerID == c.ID {
					deletions++
				}
			}
			ds, _ := st.DevicesByCustomer(ctx, c.ID)
			keys, _ := st.CustomerKeys(ctx, []string{c.ID})
			want := map[bool]int{true: 1, false: 0}[erased]
			if len(records) != want || deletions != want || (len(ds) == 0) != erased || (len(keys) == 0) != erased {
				t.Fatalf("after the kill: erased %v, %d records, %d events, %d devices, %d keys", erased, len(records), deletions, len(ds), len(keys))
			}
			if kind == "mongo" {
				if n := countErasureMarks(t, strings.TrimPrefix(env[0], "MONGODB_URI=")); n != 0 {
					t.Fatalf("%d customer documents still marked for erasure", n)
				}
			}
			t.Logf("%s: erased %v with %d record(s) and %d event(s)", kind, erased, len(records), deletions)
		})
	}
}

// countErasureMarks returns how many customer documents of the database of
// uri are marked as being erased.
func countErasureMarks(t *testing.T, uri string) int64 {
	t.Helper()
	ctx := context.Background()
	client, err := mongodriver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	u, _ := url.Parse(uri)
	n, err := client.Database(strings.TrimPrefix(u.Path, "/")).Collection("customers").
		CountDocuments(ctx, bson.D{{Key: "erasedAt", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// awaitErasureClose reads an erased customer's accountEvents socket: it must
// hear CUSTOMER_DELETED, then close with 4401. It returns when it closed.
func awaitErasureClose(t *testing.T, ws <-chan wsMessage) time.Time {
	t.Helper()
	var told bool
	for m := range ws {
		if m.err != nil {
			if code := closeCode(m.err); code != closeUnauthorized || !told {
				t.Fatalf("socket ended with %v (told: %v), want CUSTOMER_DELETED then close 4401", m.err, told)
			}
			return m.at
		}
		told = told || dig(m.msg, "payload", "data", "accountEvents", "type") == "CUSTOMER_DELETED"
	}
	t.Fatal("the socket's reader ended without an error")
	return time.Time{}
}

const deleteAccountMutation = `mutation($pw: String!) {
  deleteAccount(input: {currentPassword: $pw}) { deletedCustomerId userErrors { field code message } }
}`

// A customer erases its own account from the app or dashboard: only with
// its own session and its password, and then as deleteCustomer would.
func TestCustomerDeletesItsOwnAccount(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			ctx := context.Background()
			support, admin := f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
			own, _, _ := f.customerLogin(t, customerPassword)
			_, ticket := f.startAssist(t, support, "thermostat offline")
			assisting, code := f.redeem(t, ticket)
			if own == "" || assisting == "" {
				t.Fatalf("the customer's token %q, the assist token %q (%s)", own, assisting, code)
			}

			// Refused, and nothing changes: an operator, an operator
			// assisting the customer, a wrong password, no session.
			vars := map[string]any{"pw": customerPassword}
			for who, token := range map[string]string{"SUPPORT": support, "ADMIN": admin, "the assist session": assisting} {
				if resp := f.post(t, token, deleteAccountMutation, vars); resp.code() != codeForbidden {
					t.Errorf("%s deleting an account: %+v, want FORBIDDEN", who, resp)
				}
			}
			if resp := f.post(t, "", deleteAccountMutation, vars); resp.code() != codeUnauthenticated {
				t.Errorf("deleting without a session: %+v, want UNAUTHENTICATED", resp)
			}
			resp := f.post(t, own, deleteAccountMutation, map[string]any{"pw": "not " + customerPassword})
			if code, field := firstUserError(resp, "deleteAccount"); code != "INVALID_CREDENTIALS" || field != "currentPassword" ||
				dig(resp.Data, "deleteAccount", "deletedCustomerId") != nil {
				t.Fatalf("a wrong password: %+v, want INVALID_CREDENTIALS on currentPassword", resp)
			}
			if answer, _ := json.Marshal(resp); strings.Contains(string(answer), "not "+customerPassword) {
				t.Fatalf("the answer echoes the password typed: %s", answer)
			}
			if resp := f.post(t, own, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
				t.Fatalf("the customer after the refusals: %+v", resp)
			}
			if failed := auditEntries(t, f, admin, audit.ActionUserDeleted); len(failed) != 1 || failed[0]["outcome"] != "failure" ||
				failed[0]["actorType"] != "customer" {
				t.Fatalf("the wrong password's audit record: %v", failed)
			}

			// The erasure, with the dashboard open and an operator watching.
			ws := f.subscribeAccountEvents(t, own).readAll()
			watching := subscribe(t, f.testInstance, "graphql-transport-ws", support, `subscription { customerDeleted { customerId byCustomer } }`, nil).readAll()
			resp = f.post(t, own, deleteAccountMutation, vars)
			if dig(resp.Data, "deleteAccount", "deletedCustomerId") != f.customerID() || len(dig(resp.Data, "deleteAccount", "userErrors").([]any)) != 0 {
				t.Fatalf("deleteAccount: %+v", resp)
			}
			awaitErasureClose(t, ws)
			select {
			case m := <-watching:
				if d := dig(m.msg, "payload", "data", "customerDeleted"); m.err != nil || dig(d, "customerId") != f.customerID() || dig(d, "byCustomer") != true {
					t.Errorf("the operator's customerDeleted: %v %v, want the customer, byCustomer", m.msg, m.err)
				}
			case <-time.After(5 * time.Second):
				t.Error("the operator watching heard nothing of the erasure")
			}
			for who, token := range map[string]string{"the customer's": own, "the assist": assisting} {
				if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
					t.Errorf("%s token after the erasure: %+v, want UNAUTHENTICATED", who, resp)
				}
			}
			if _, code, _ := f.customerLogin(t, customerPassword); code != "INVALID_CREDENTIALS" {
				t.Errorf("signing in after the erasure answered %q, want INVALID_CREDENTIALS", code)
			}
			if _, err := f.store.CustomerByID(ctx, f.customer.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("the customer in the store after the erasure: %v", err)
			}
			if _, err := f.store.DeviceByID(ctx, f.device.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("its device after the erasure: %v", err)
			}
			var erased []map[string]any
			for _, e := range auditEntries(t, f, admin, audit.ActionUserDeleted) {
				if e["outcome"] == "success" {
					erased = append(erased, e)
				}
			}
			if len(erased) != 1 || erased[0]["actorType"] != "customer" || erased[0]["actorId"] != f.customerID() ||
				erased[0]["reason"] != customers.OwnDeletionReason {
				t.Fatalf("the erasure's audit record: %v", erased)
			}
		})
	}
}

// The account deleted from several of its sessions at once: one deletes it,
// the others are told their session ended with it (UNAUTHENTICATED, as their
// next request would be) or to wait (RATE_LIMITED: password checks at once
// beyond the account's allowance), not NOT_FOUND (a tryout's 7 of 8).
func TestSimultaneousAccountDeletionsSignTheOthersOut(t *testing.T) {
	f := newAccountFixture(t, nil)
	tokens := make([]string, 6)
	for i := range tokens {
		if tokens[i], _, _ = f.customerLogin(t, customerPassword); tokens[i] == "" {
			t.Fatal("sign-in failed")
		}
	}
	codes := make([]string, len(tokens))
	var wg sync.WaitGroup
	for i, token := range tokens {
		wg.Go(func() {
			resp := f.post(t, token, deleteAccountMutation, map[string]any{"pw": customerPassword})
			if dig(resp.Data, "deleteAccount", "deletedCustomerId") != nil {
				codes[i] = "deleted"
			} else {
				codes[i] = resp.code()
			}
		})
	}
	wg.Wait()
	deleted := 0
	for _, code := range codes {
		switch code {
		case "deleted":
			deleted++
		case codeUnauthenticated, codeRateLimited: // password checks at once past the account's allowance wait
		default:
			t.Errorf("a simultaneous deletion answered %q, want the deletion or UNAUTHENTICATED (all: %v)", code, codes)
		}
	}
	if deleted != 1 {
		t.Errorf("%d deletions succeeded, want 1 (all: %v)", deleted, codes)
	}
}
