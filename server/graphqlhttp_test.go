package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
)

// rawResponse is an HTTP answer of /graphql, whole.
type rawResponse struct {
	status int
	header http.Header
	body   map[string]json.RawMessage
}

// graphqlRequest sends method to /graphql: for GET, params go in the URL;
// for POST, in a JSON body. accept is the Accept header ("" for none).
func graphqlRequest(t *testing.T, s *testInstance, method, token, accept string, params map[string]any) rawResponse {
	t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		q := url.Values{}
		for k, v := range params {
			if str, ok := v.(string); ok {
				q.Set(k, str)
			} else {
				b, _ := json.Marshal(v)
				q.Set(k, string(b))
			}
		}
		req, _ = http.NewRequest(method, s.URL()+"/graphql?"+q.Encode(), nil)
	} else {
		b, _ := json.Marshal(params)
		req, _ = http.NewRequest(method, s.URL()+"/graphql", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := rawResponse{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s answered %d with a body that is not a JSON object: %.200s", method, resp.StatusCode, raw)
	}
	return out
}

// Queries work over GET; mutations and subscriptions do not (405, Allow:
// POST), and nothing changes.
func TestGraphQLOverGET(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)
	resp := graphqlRequest(t, f.testInstance, http.MethodGet, admin, "", map[string]any{
		"query": `query($q: String) { customers(query: $q, first: 5) { edges { node { email } } } }`, "variables": map[string]any{"q": "casey"}})
	if resp.status != http.StatusOK || !strings.Contains(string(resp.body["data"]), customerEmail) {
		t.Fatalf("a search over GET: %d %s", resp.status, resp.body)
	}
	for _, q := range []string{
		`mutation($id: ID!) { setAccountStatus(input: {customerId: $id, status: DISABLED, reason: "over GET"}) { changed } }`,
		`subscription { customerStatusChanged { status } }`,
	} {
		resp := graphqlRequest(t, f.testInstance, http.MethodGet, admin, "", map[string]any{"query": q, "variables": map[string]any{"id": f.customerID()}})
		if resp.status != http.StatusMethodNotAllowed || resp.header.Get("Allow") != "POST" || resp.body["data"] != nil {
			t.Errorf("%.30s over GET: %d, Allow %q, %s", q, resp.status, resp.header.Get("Allow"), resp.body)
		}
	}
	if resp := f.post(t, admin, `query($id: ID!) { node(id: $id) { ... on Customer { status } } }`, map[string]any{"id": f.customerID()}); dig(resp.Data, "node", "status") != "ACTIVE" {
		t.Errorf("a mutation sent over GET changed the customer: %+v", resp)
	}
	// HEAD, which a 405's Allow lists beside GET, answers the GET's status
	// and headers without a body (it was 415).
	req, _ := http.NewRequest(http.MethodHead, f.URL()+"/graphql?query="+url.QueryEscape("{ __typename }"), nil)
	head, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || !strings.HasPrefix(head.Header.Get("Content-Type"), "application/json") {
		t.Errorf("HEAD with a query: %d %q, want the GET's 200 and type", head.StatusCode, head.Header.Get("Content-Type"))
	}
	// Any other method is 405 with the API's headers and a coded JSON answer
	// (it was ServeMux's plain text, without Cache-Control: tryout 19).
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		resp := graphqlRequest(t, f.testInstance, method, admin, "", map[string]any{"query": "{ __typename }"})
		errs, _ := json.Marshal(resp.body["errors"])
		if resp.status != http.StatusMethodNotAllowed || resp.header.Get("Cache-Control") != "no-store" || !strings.Contains(resp.header.Get("Allow"), "POST") ||
			!strings.Contains(string(errs), `"code":"METHOD_NOT_ALLOWED"`) {
			t.Errorf("%s /graphql: %d, Cache-Control %q, Allow %q, %s", method, resp.status, resp.header.Get("Cache-Control"), resp.header.Get("Allow"), resp.body)
		}
	}
}

// Request errors (the document does not parse or validate, or the limits
// refuse its shape or its cost): no data entry; 400 as
// application/graphql-response+json, 200 as application/json.
func TestGraphQLOverHTTPMediaTypes(t *testing.T) {
	s := startTest(t, nil)
	tooManyRoots := "{"
	for i := range 11 {
		tooManyRoots += fmt.Sprintf(" a%d: __typename", i)
	}
	tooManyRoots += " }"
	for _, bad := range []string{`{ viewer { `, `{ noSuchField }`, tooManyRoots, fanOut(40)} {
		for _, tc := range []struct {
			accept, contentType string
			status              int
		}{
			{"application/graphql-response+json", "application/graphql-response+json", http.StatusBadRequest},
			{"application/json", "application/json", http.StatusOK},
			{"", "application/json", http.StatusOK},
			// Weights, not the order, decide (RFC 9110, section 12.5.1; tryout 19).
			{"application/graphql-response+json;q=0.5, application/json", "application/json", http.StatusOK},
			{"application/json;q=0.1, application/graphql-response+json", "application/graphql-response+json", http.StatusBadRequest},
			{"application/json;q=0, */*", "application/graphql-response+json", http.StatusBadRequest},
			{"*/*", "application/json", http.StatusOK},
		} {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				resp := graphqlRequest(t, s, method, "", tc.accept, map[string]any{"query": bad})
				_, hasData := resp.body["data"]
				if resp.status != tc.status || !strings.HasPrefix(resp.header.Get("Content-Type"), tc.contentType) || hasData || resp.body["errors"] == nil {
					t.Errorf("%s %q with Accept %q: %d %s, data entry %v, %s", method, bad, tc.accept, resp.status, resp.header.Get("Content-Type"), hasData, resp.body)
				}
			}
		}
	}
	// A good query answers 200 with data in both media types.
	for _, accept := range []string{"application/graphql-response+json", "application/json"} {
		resp := graphqlRequest(t, s, http.MethodPost, "", accept, map[string]any{"query": `{ viewer { __typename } }`})
		if _, hasData := resp.body["data"]; resp.status != http.StatusOK || !hasData || !strings.HasPrefix(resp.header.Get("Content-Type"), accept) {
			t.Errorf("a good query with Accept %q: %d %s %s", accept, resp.status, resp.header.Get("Content-Type"), resp.body)
		}
	}
}

// Automatic persisted queries: a hash alone is answered PersistedQueryNotFound
// until the query has been sent once with it; then the hash alone runs it,
// over POST and GET; a hash that is not the query's is refused.
func TestAutomaticPersistedQueries(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)
	query := `query Casey { customers(query: "casey", first: 1) { edges { node { email } } } }`
	sum := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}

	resp := graphqlRequest(t, f.testInstance, http.MethodPost, admin, "", map[string]any{"extensions": ext})
	if !strings.Contains(string(resp.body["errors"]), "PersistedQueryNotFound") {
		t.Fatalf("an unknown hash: %d %s", resp.status, resp.body)
	}
	resp = graphqlRequest(t, f.testInstance, http.MethodPost, admin, "", map[string]any{"query": query, "extensions": ext})
	if !strings.Contains(string(resp.body["data"]), customerEmail) {
		t.Fatalf("the query with its hash: %d %s", resp.status, resp.body)
	}
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		resp := graphqlRequest(t, f.testInstance, method, admin, "", map[string]any{"extensions": ext})
		if resp.status != http.StatusOK || !strings.Contains(string(resp.body["data"]), customerEmail) {
			t.Errorf("the hash alone over %s: %d %s", method, resp.status, resp.body)
		}
	}
	wrong := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": strings.Repeat("0", 64)}}
	if resp := graphqlRequest(t, f.testInstance, http.MethodPost, admin, "", map[string]any{"query": query, "extensions": wrong}); resp.body["errors"] == nil {
		t.Errorf("a query with another query's hash: %d %s", resp.status, resp.body)
	}
}

// A subscription sent with POST is refused at once (gqlgen's POST transport
// waited for its first event with no time limit, outside the WebSocket's
// limit on subscriptions): a request error, 200 as application/json and 400
// as application/graphql-response+json, with no data entry.
func TestSubscriptionOverPOSTIsRefusedAtOnce(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)
	for accept, status := range map[string]int{"": http.StatusOK, "application/json": http.StatusOK,
		"application/graphql-response+json": http.StatusBadRequest} {
		done := make(chan rawResponse, 1)
		go func() {
			done <- graphqlRequest(t, f.testInstance, http.MethodPost, admin, accept, map[string]any{
				"query": `subscription($id: ID!) { customerStatusChanged(customerId: $id) { status } }`, "variables": map[string]any{"id": f.customerID()}})
		}()
		select {
		case resp := <-done:
			_, hasData := resp.body["data"]
			if resp.status != status || hasData || !strings.Contains(string(resp.body["errors"]), "WebSocket") {
				t.Errorf("a subscription with POST, Accept %q: %d, data entry %v, %s", accept, resp.status, hasData, resp.body)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("a subscription with POST, Accept %q: no answer after 10 s", accept)
		}
	}
}

// gqlgen's own refusals come as JSON with a code: a body that is not JSON
// is 415 UNSUPPORTED_MEDIA_TYPE, undecodable variables in a GET and a
// document of several operations without operationName BAD_REQUEST with a
// message that says what to send.
func TestTransportRefusalsAreJSONWithACode(t *testing.T) {
	s := startTest(t, nil)
	send := func(method, path, contentType, body string) (int, string, map[string]any) {
		req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s (%s): not JSON: %v", method, path, contentType, err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), out
	}
	for _, tc := range []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
	}{
		{"text/plain", http.MethodPost, "/graphql", "text/plain", `{"query":"{ __typename }"}`, http.StatusUnsupportedMediaType, codeUnsupportedMediaType},
		{"a form", http.MethodPost, "/graphql", "application/x-www-form-urlencoded", `query=%7B__typename%7D`, http.StatusUnsupportedMediaType, codeUnsupportedMediaType},
		{"no content type", http.MethodPost, "/graphql", "", `{"query":"{ __typename }"}`, http.StatusUnsupportedMediaType, codeUnsupportedMediaType},
		{"undecodable variables", http.MethodGet, "/graphql?query=%7B__typename%7D&variables=%7Bnope", "", "", http.StatusBadRequest, codeBadRequest},
	} {
		status, contentType, out := send(tc.method, tc.path, tc.contentType, tc.body)
		errs, _ := out["errors"].([]any)
		if status != tc.status || !strings.HasPrefix(contentType, "application/json") || len(errs) != 1 || dig(errs[0], "extensions", "code") != tc.code {
			t.Errorf("%s: %d %s %v", tc.name, status, contentType, out)
		}
	}
	resp := graphqlRequest(t, s, http.MethodPost, "", "", map[string]any{"query": `query A { __typename } query B { __typename }`})
	errs, _ := resp.body["errors"]
	if _, hasData := resp.body["data"]; hasData || !strings.Contains(string(errs), "operationName") || !strings.Contains(string(errs), `"code"`) {
		t.Errorf("several operations without operationName: %d %s", resp.status, resp.body)
	}
}

// Variables are coerced as the GraphQL spec's input coercion says, not as
// loosely as gqlparser does: a number for a String, a string for an Int or a
// Float, an Int outside 32 bits, an enum value's name in another case (which
// gqlgen then failed on as INTERNAL), a string for a Boolean, a fraction for
// an ID, at the top or inside an input object, is a request error
// (GRAPHQL_VALIDATION_FAILED, 400 as application/graphql-response+json, no
// data) whose path leads to the value and whose message never repeats it;
// nothing runs. The right types keep working.
func TestVariablesAreCoercedAsTheSpecSays(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)
	const search = `query($q: String, $n: Int, $s: AccountStatus) { customers(query: $q, first: $n, status: $s) { edges { node { email } } } }`
	const disable = `mutation($id: ID!, $s: AccountStatus!, $r: String) { setAccountStatus(input: {customerId: $id, status: $s, reason: $r}) { changed } }`
	const device = `mutation($i: UpdateDeviceInput!) { updateDevice(input: $i) { userErrors { code } } }`
	const audit = `query($s: Time) { auditLog(since: $s, first: 2) { edges { node { id } } } }`
	for _, tc := range []struct {
		name, query string
		variables   map[string]any
		path        string
	}{
		{"a number for a String", search, map[string]any{"q": 31337}, "variable.q"},
		{"a string for an Int", search, map[string]any{"q": "casey", "n": "5"}, "variable.n"},
		{"an Int past 32 bits", search, map[string]any{"q": "casey", "n": 4294967301}, "variable.n"},
		{"a fraction for an Int", search, map[string]any{"q": "casey", "n": 2.5}, "variable.n"},
		{"an enum in lower case", search, map[string]any{"q": "casey", "s": "active"}, "variable.s"},
		{"a number for an enum", search, map[string]any{"q": "casey", "s": 0}, "variable.s"},
		{"a lower-case enum in a mutation", disable, map[string]any{"id": f.customerID(), "s": "disabled", "r": "test"}, "variable.s"},
		{"a number for a String in a mutation", disable, map[string]any{"id": f.customerID(), "s": "DISABLED", "r": 31337}, "variable.r"},
		{"a fraction for an ID", disable, map[string]any{"id": 1.5, "s": "DISABLED"}, "variable.id"},
		{"a string for a Float in an input object", device, map[string]any{"i": map[string]any{"deviceId": "RGV2aWNlOng", "settings": map[string]any{"targetTemperature": "21.5"}}}, "variable.i.settings.targetTemperature"},
		{"a string for a Boolean in an input object", device, map[string]any{"i": map[string]any{"deviceId": "RGV2aWNlOng", "settings": map[string]any{"notifications": "true"}}}, "variable.i.settings.notifications"},
		{"a Time that is no date and time", audit, map[string]any{"s": "2026-12-03"}, "variable.s"},
		{"a number for a Time", audit, map[string]any{"s": 31337}, "variable.s"},
		{"a list for a String", search, map[string]any{"q": []any{"casey"}}, "variable.q"},
		{"an object for a String", search, map[string]any{"q": map[string]any{"a": "casey"}}, "variable.q"},
		{"an object for an Int", search, map[string]any{"q": "casey", "n": map[string]any{}}, "variable.n"},
		// gqlparser's "unknown field" names the key sent: cut before a key that is no short name
		{"an unknown key in an input object", device, map[string]any{"i": map[string]any{"deviceId": "RGV2aWNlOng", "<script>" + strings.Repeat("x", 5000): 1}}, "variable.i"},
	} {
		resp := graphqlRequest(t, f.testInstance, http.MethodPost, admin, "application/graphql-response+json", map[string]any{"query": tc.query, "variables": tc.variables})
		var errs []struct {
			Message    string
			Path       []any
			Extensions struct{ Code string }
		}
		_ = json.Unmarshal(resp.body["errors"], &errs)
		_, hasData := resp.body["data"]
		sent, _ := json.Marshal(tc.variables)
		if resp.status != http.StatusBadRequest || hasData || len(errs) != 1 || errs[0].Extensions.Code != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("%s: %d %s", tc.name, resp.status, resp.body)
			continue
		}
		path := make([]string, len(errs[0].Path))
		for i, p := range errs[0].Path {
			path[i] = fmt.Sprint(p)
		}
		if strings.Join(path, ".") != tc.path {
			t.Errorf("%s: path %v, want %s", tc.name, errs[0].Path, tc.path)
		}
		for _, echoed := range []string{"31337", "4294967301", "active", "disabled", "21.5", `"true"`, "1.5", "2.5", "2026-12-03", "<script>"} {
			if strings.Contains(string(sent), echoed) && strings.Contains(errs[0].Message, echoed) {
				t.Errorf("%s: the message repeats what was sent: %q", tc.name, errs[0].Message)
			}
		}
		if strings.Contains(errs[0].Message, "value 0") { // gqlparser's message named what its failed conversion left
			t.Errorf("%s: the message names a value that was not sent: %q", tc.name, errs[0].Message)
		}
		for _, goWord := range []string{"slice", "map", "cannot use"} { // gqlparser's words for JSON's types (tryout 19)
			if strings.Contains(errs[0].Message, goWord) {
				t.Errorf("%s: %q, want the spec's words (\"String expects a string\")", tc.name, errs[0].Message)
			}
		}
	}
	if resp := f.post(t, admin, `query($id: ID!) { node(id: $id) { ... on Customer { status } } }`, map[string]any{"id": f.customerID()}); dig(resp.Data, "node", "status") != "ACTIVE" {
		t.Errorf("a refused mutation changed the customer: %+v", resp)
	}
	// A Time literal that is no date and time is the caller's error, not INTERNAL.
	for _, literal := range []string{`"bad"`, `5`, `"2026-13-45T00:00:00Z"`} {
		resp := graphqlRequest(t, f.testInstance, http.MethodPost, admin, "", map[string]any{"query": `{ auditLog(since: ` + literal + `, first: 2) { edges { node { id } } } }`})
		if errs := string(resp.body["errors"]); !strings.Contains(errs, codeBadUserInput) || strings.Contains(errs, "2026-13-45") {
			t.Errorf("auditLog(since: %s): %d %s", literal, resp.status, resp.body)
		}
	}
	// The right types: a search with every variable, and an ID sent as a number.
	resp := graphqlRequest(t, f.testInstance, http.MethodPost, admin, "", map[string]any{"query": search, "variables": map[string]any{"q": "casey", "n": 5, "s": "ACTIVE"}})
	if resp.status != http.StatusOK || !strings.Contains(string(resp.body["data"]), customerEmail) {
		t.Errorf("a search with well-typed variables: %d %s", resp.status, resp.body)
	}
	resp = graphqlRequest(t, f.testInstance, http.MethodPost, admin, "", map[string]any{"query": `query($id: ID!) { customer(id: $id) { email } }`, "variables": map[string]any{"id": 12}})
	if _, hasData := resp.body["data"]; resp.status != http.StatusOK || !hasData {
		t.Errorf("an ID sent as a whole number is an ID: %d %s", resp.status, resp.body)
	}
}
