package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A refused request's message names what is wrong, never the value sent:
// an enum variable, an enum literal, a literal of the wrong type, at any
// size (a tryout got a 100 KB value back whole, HTML and all).
func TestRefusalsDoNotEchoTheInput(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, "support@demo.test")
	sent := "<img src=x onerror=alert(1)>" + strings.Repeat("A", 100_000)
	longName := strings.Repeat("A", 100)
	for _, tc := range []struct {
		query string
		vars  map[string]any
		want  string
	}{
		{`mutation($m: AssistMode) { startAssist(input: {customerId: "x", reason: "x", mode: $m}) { ticket } }`, map[string]any{"m": sent}, "not a valid AssistMode"},
		{`mutation { startAssist(input: {customerId: "x", reason: "x", mode: ` + longName + `}) { ticket } }`, nil, `"AssistMode"`},
		{`{ customers(first: "<script>x</script>") { totalCount } }`, nil, "Int"},
		{`{ customers(query: PW_` + longName + `) { totalCount } }`, nil, "String cannot represent"},
		{`{ customers(first: 9` + strings.Repeat("9", 100) + `) { totalCount } }`, nil, "Int cannot represent"},
	} {
		resp := s.post(t, token, tc.query, tc.vars)
		body, _ := json.Marshal(resp)
		if len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, tc.want) {
			t.Errorf("%.60s: %s", tc.query, body)
		}
		if len(body) > 2000 || strings.Contains(string(body), "img") || strings.Contains(string(body), "script") || strings.Contains(string(body), longName) {
			t.Errorf("%.60s: the input came back (%d bytes): %.300s", tc.query, len(body), body)
		}
	}
}

func TestWithoutEchoedInput(t *testing.T) {
	for in, want := range map[string]string{
		`<b>x</b>AAAA is not a valid AssistMode`:                                            `the value is not a valid AssistMode`,
		`Value "ABC" does not exist in "AssistMode" enum.`:                                  `Value "ABC" does not exist in "AssistMode" enum.`,
		`Int cannot represent non-integer value: "<script>x</script>"`:                      `Int cannot represent non-integer value: …`,
		`String cannot represent a non string value: PW_` + strings.Repeat("A", 99):         `String cannot represent a non string value: …`,
		`Int cannot represent non 32-bit signed integer value: 9` + strings.Repeat("9", 99): `Int cannot represent non 32-bit signed integer value: …`,
		`Enum "AssistMode" cannot represent non-enum value: 1.5e300.`:                       `Enum "AssistMode" cannot represent non-enum value: …`,
		`Expected value of type "Int!", found ` + strings.Repeat("z", 99) + `.`:             `Expected value of type "Int!", found …`,
		`Variable "$f" of type "Int" used in position expecting "String!".`:                 `Variable "$f" of type "Int" used in position expecting "String!".`,
		`Cannot query field "` + strings.Repeat("x", 80) + `" on type "Query".`:             `Cannot query field "…" on type "Query".`,
		`Field "LoginInput.domain" of required type "String!" was not provided.`:            `Field "LoginInput.domain" of required type "String!" was not provided.`,
		`Unknown argument "frist" on field "Query.customers".`:                              `Unknown argument "frist" on field "Query.customers".`,
		`Field "a.b.c" is not defined.`:                                                     `Field "…" is not defined.`,
	} {
		if got := withoutEchoedInput(in); got != want {
			t.Errorf("withoutEchoedInput(%q) = %q, want %q", in, got, want)
		}
	}
}
