package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
)

// The standard clients test runs clients/standard-clients.mjs (Node) against a real server: urql 6
// and graphql-ws exactly as their documentation shows them, with default options, and graphql-http's
// GraphQL-over-HTTP audits. Without node on PATH it skips, unless BFF_REQUIRE_NODE=1 (scripts/test
// sets it), when it fails. Its packages are pinned by clients/package-lock.json and installed with
// `npm ci` when clients/node_modules is missing or older than the lock file.

// clientsDir is the Node project, from the server package's directory (go test's working directory).
const clientsDir = "../clients"

var (
	npmOnce sync.Once
	npmErr  error
)

// ensureClientPackages installs the pinned packages once per test binary when they are missing or
// older than package-lock.json (npm ci writes node_modules/.package-lock.json last).
func ensureClientPackages(t *testing.T) {
	t.Helper()
	npmOnce.Do(func() {
		lock, err := os.Stat(filepath.Join(clientsDir, "package-lock.json"))
		if err != nil {
			npmErr = err
			return
		}
		if installed, err := os.Stat(filepath.Join(clientsDir, "node_modules", ".package-lock.json")); err == nil && !installed.ModTime().Before(lock.ModTime()) {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			npmErr = errors.New("clients/node_modules needs installing and npm is not on PATH")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		started := time.Now()
		cmd := exec.CommandContext(ctx, npm, "ci", "--prefix", clientsDir, "--no-audit", "--no-fund")
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = errors.New("npm ci: " + err.Error() + "\n" + string(out))
			return
		}
		t.Logf("npm ci --prefix clients: %s", time.Since(started).Round(time.Millisecond))
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
}

// auditsNeedingIntrospection are graphql-http 1.23.1's audits whose query selects
// __type(name: ...), which /graphql refuses by design. BF61 (MUST accept utf-8) checks only for a
// 200 and passes with the refusal as an application/json answer; 28B9 (MUST allow map {variables})
// wants an answer without errors and cannot pass; 2EA1 (SHOULD) wants a 200 with
// application/graphql-response+json, where the refusal is a 400; D6D5 and 6A70 (MAY) are the same
// over GET.
var auditsNeedingIntrospection = map[string]bool{"BF61": true, "28B9": true, "2EA1": true, "D6D5": true, "6A70": true}

// introspectionRefusal is how /graphql refuses __schema and __type (server/limits.go).
const introspectionRefusal = "introspection is disabled on this endpoint"

// refusedIntrospectionAsSpecified reports whether an audit's answer is the introspection refusal,
// a validation error, given as GraphQL over HTTP says: 200 as application/json, 400 as
// application/graphql-response+json, without a data entry. Any other answer (gqlgen's 422, say)
// fails the audit as usual.
func refusedIntrospectionAsSpecified(response json.RawMessage) bool {
	var res struct {
		Status      int    `json:"status"`
		ContentType string `json:"contentType"`
		Body        string `json:"body"`
	}
	if json.Unmarshal(response, &res) != nil || !strings.Contains(res.Body, introspectionRefusal) {
		return false
	}
	var body map[string]json.RawMessage
	if json.Unmarshal([]byte(res.Body), &body) != nil {
		return false
	}
	if _, hasData := body["data"]; hasData {
		return false
	}
	switch {
	case strings.HasPrefix(res.ContentType, "application/graphql-response+json"):
		return res.Status == 400
	case strings.HasPrefix(res.ContentType, "application/json"):
		return res.Status == 200
	}
	return false
}

// clientLine is one JSON line of standard-clients.mjs.
type clientLine struct {
	Check string `json:"check"`
	OK    bool   `json:"ok"`
	// urql
	Edges    int               `json:"edges"`
	Requests []json.RawMessage `json:"requests"`
	// graphql-ws
	Protocol         string `json:"protocol"`
	DisableDelivered bool   `json:"disableDelivered"`
	EnableDelivered  bool   `json:"enableDelivered"`
	// audit
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Status   string          `json:"status"` // ok, or notice (MAY), warn (SHOULD), error (MUST)
	Reason   string          `json:"reason"`
	Response json.RawMessage `json:"response"`

	raw string
}

func TestStandardClients(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("BFF_REQUIRE_NODE") == "1" {
			t.Fatal("node is not on PATH (BFF_REQUIRE_NODE=1): install Node 20 or newer")
		}
		t.Skip("node is not on PATH: install Node 20 or newer (scripts/test requires it) to run the standard clients")
	}
	started := time.Now()
	ensureClientPackages(t)

	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, filepath.Join(clientsDir, "standard-clients.mjs"), f.URL(), admin, f.customerID())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if runErr != nil {
		t.Fatalf("node standard-clients.mjs: %v\nstdout:\n%s\nstderr:\n%s", runErr, stdout.String(), stderr.String())
	}

	var lines []clientLine
	scan := bufio.NewScanner(&stdout)
	scan.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for scan.Scan() {
		text := strings.TrimSpace(scan.Text())
		if text == "" {
			continue
		}
		var l clientLine
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", text, err)
		}
		l.raw = text
		lines = append(lines, l)
	}
	byCheck := map[string][]clientLine{}
	for _, l := range lines {
		byCheck[l.Check] = append(byCheck[l.Check], l)
	}

	// urql 6 sends the query as GET by default (preferGetMethod "within-url-limit").
	if u := byCheck["urql"]; len(u) != 1 || !u[0].OK || u[0].Edges == 0 {
		t.Errorf("urql's customer search, unchanged client and default options, failed: %s", rawOf(u))
	} else {
		t.Logf("urql: %d edges; requests %s", u[0].Edges, rawJSON(u[0].Requests))
	}

	// graphql-ws: the subscription delivers the disabling.
	if w := byCheck["graphql-ws"]; len(w) != 1 || !w[0].OK || !w[0].DisableDelivered {
		t.Errorf("graphql-ws subscription, unchanged client and default options, did not deliver the disabling: %s", rawOf(w))
	} else {
		t.Logf("graphql-ws over %s: disable delivered, enable delivered %v", w[0].Protocol, w[0].EnableDelivered)
	}

	// graphql-http's audits: every MUST passes; SHOULDs are reported. A few audits select
	// __type(name: ...), introspection, which /graphql refuses by design (only the admin playground's
	// endpoint answers it): those listed in auditsNeedingIntrospection are excused when, and only
	// when, the answer is that refusal given as the specification says.
	audits := byCheck["audit"]
	if len(audits) == 0 {
		t.Errorf("no audit results: %s", stdout.String())
	}
	// Every MUST and every SHOULD audit must pass; a MAY is reported.
	var musts, shoulds, mays, excused []string
	passed := 0
	for _, a := range audits {
		if a.Status == "ok" {
			passed++
			continue
		}
		failure := "audit " + a.ID + " " + a.Name + ": " + a.Reason + "; response " + string(a.Response)
		if auditsNeedingIntrospection[a.ID] && refusedIntrospectionAsSpecified(a.Response) {
			excused = append(excused, a.ID)
			t.Log("needs introspection, refused on /graphql by design: " + failure)
			continue
		}
		switch {
		case auditsNeedingIntrospection[a.ID]:
			failure += " (it needs introspection: its refusal is excused only as a 200 application/json or 400 application/graphql-response+json answer without data)"
		case strings.Contains(strings.ToLower(string(a.Response)), "introspection"):
			failure += " (the answer speaks of introspection: if the audit needs it, add it to auditsNeedingIntrospection)"
		}
		switch {
		case strings.HasPrefix(a.Name, "MUST"):
			musts = append(musts, a.ID)
			t.Error(failure)
		case strings.HasPrefix(a.Name, "SHOULD"):
			shoulds = append(shoulds, a.ID)
			t.Error(failure)
		default:
			mays = append(mays, a.ID)
			t.Log("optional: " + failure)
		}
	}
	t.Logf("audits: %d in all, %d pass; failing: MUST %v, SHOULD %v, MAY %v; excused as needing introspection %v",
		len(audits), passed, musts, shoulds, mays, excused)
	t.Logf("standard clients took %s (with the server's start and any npm ci)", time.Since(started).Round(time.Millisecond))
	if t.Failed() && stderr.Len() > 0 {
		t.Logf("node's stderr:\n%s", stderr.String())
	}
}

func rawOf(lines []clientLine) string {
	if len(lines) == 0 {
		return "(no line)"
	}
	raws := make([]string, len(lines))
	for i, l := range lines {
		raws[i] = l.raw
	}
	return strings.Join(raws, "\n")
}

func rawJSON(msgs []json.RawMessage) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = string(m)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
