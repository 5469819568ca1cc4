package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/iotconsole/bff/graph"
	"github.com/iotconsole/bff/resolvers"
)

// leanPOST answers every request as gqlgen's transport.POST does: the same
// status, Content-Type and JSON (answers with data alone are written by
// leanPOST itself; the rest by transport.POST), for bodies good and bad and
// every Accept header.
func TestLeanPOSTAnswersAsGqlgensPOST(t *testing.T) {
	serve := func(post graphql.Transport) *httptest.Server {
		srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{}}))
		srv.AddTransport(post)
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		return ts
	}
	lean, gqlgens := serve(leanPOST{}), serve(transport.POST{})
	bodies := []string{
		`{"query":"{ __typename }"}`,
		`{"query":"query Q($a: Boolean!) { __typename @include(if: $a) }","variables":{"a":true},"operationName":"Q"}`,
		`{"query":"{ __typename } <&>", "extensions":{}}`,
		`{"query":"{ viewer { "}`,
		`{"query":"{ noSuchField }"}`,
		`{"query":"query A { __typename } query B { __typename }"}`,
		`{"query":"query A { __typename }","operationName":"B"}`,
		`{"query":"mutation { operatorLogin(input:{domain:\"d\",email:\"e\",password:\"p\"}) { token } }"}`,
		`{"query": 3}`,
		`[1, 2]`,
		`not json`,
		``,
	}
	for _, body := range bodies {
		for _, accept := range []string{"", "application/json", "application/graphql-response+json", "application/graphql-response+json, application/json;q=0.9",
			"*/*", "text/html", "application/*;q=0.5, bad//type"} {
			var answers [2]struct {
				status      int
				contentType string
				body        any
			}
			for i, ts := range []*httptest.Server{lean, gqlgens} {
				req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				answers[i].status, answers[i].contentType = resp.StatusCode, resp.Header.Get("Content-Type")
				if err := json.NewDecoder(resp.Body).Decode(&answers[i].body); err != nil {
					t.Errorf("%q, Accept %q: answer %d is no JSON: %v", body, accept, i, err)
				}
				resp.Body.Close()
			}
			if !reflect.DeepEqual(answers[0], answers[1]) {
				t.Errorf("%q, Accept %q:\nleanPOST      %+v\ntransport.POST %+v", body, accept, answers[0], answers[1])
			}
		}
	}
}
