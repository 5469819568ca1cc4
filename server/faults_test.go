package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/store/mongotest"
)

// When the store goes away the service says so quickly and recovers by
// itself when it is back.
func TestStoreOutage(t *testing.T) {
	db := mongotest.Private(t)
	s := startTest(t, func(c *config) { c.MongoURI = db.URI() })
	login := func() (gqlResponse, time.Duration) {
		start := time.Now()
		resp := s.post(t, "", loginMutation, map[string]any{"domain": "demo", "email": demoAdminEmail, "password": "whatever-it-is"})
		return resp, time.Since(start)
	}
	if code, _ := get(t, s.URL()+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the outage: %d", code)
	}

	db.Stop()
	if code, _ := get(t, s.URL()+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the outage: %d, want 503", code)
	}
	resp, took := login()
	if resp.code() != codeUnavailable {
		t.Fatalf("a request during the outage: %+v, want UNAVAILABLE", resp)
	}
	if took > 5*time.Second {
		t.Fatalf("a request during the outage took %v", took)
	}
	for _, e := range resp.Errors {
		if e.Message != "service temporarily unavailable" {
			t.Fatalf("internals in the answer: %q", e.Message)
		}
	}

	db.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := get(t, s.URL()+"/readyz")
		resp, _ := login()
		if code == http.StatusOK && resp.code() == "" {
			return // back: the login is refused with userErrors, as without the outage
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 20 s after the store came back: /readyz %d, %+v", code, resp)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
