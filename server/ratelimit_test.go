package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
)

// A RATE_LIMITED answer says how long to wait: extensions.retryAfterSeconds
// (whole seconds, rounded up) and a message that says it in words.
func TestRateLimitedSaysHowLongToWait(t *testing.T) {
	for _, tt := range []struct {
		wait    time.Duration
		seconds int
		message string
	}{
		{300 * time.Millisecond, 1, "Too many attempts. Try again in 1 second."},
		{1500 * time.Millisecond, 2, "Too many attempts. Try again in 2 seconds."},
		{15 * time.Minute, 900, "Too many attempts. Try again in 900 seconds."},
	} {
		gerr := presentError(context.Background(), fmt.Errorf("sign up: %w", apperr.RetryAfter(tt.wait)))
		if gerr.Extensions["code"] != codeRateLimited || gerr.Extensions["retryAfterSeconds"] != tt.seconds || gerr.Message != tt.message {
			t.Errorf("wait %v presented as %q %v, want %q with retryAfterSeconds %d", tt.wait, gerr.Message, gerr.Extensions, tt.message, tt.seconds)
		}
	}

	// Over the API: failed sign-ins back off 1 s, 2 s, 4 s from the fifth
	// (the server's clock moves past each).
	f := newAccountFixture(t, nil)
	for i := range 7 {
		if _, code, _ := f.customerLogin(t, fmt.Sprintf("guess number %d", i)); code != "INVALID_CREDENTIALS" {
			t.Fatalf("guess %d: %s", i+1, code)
		}
		if i == 4 || i == 5 { // past the back-off the failure started
			f.clock.Advance(time.Duration(1<<(i-4))*time.Second + 10*time.Millisecond)
		}
	}
	resp := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": customerPassword})
	if resp.code() != codeRateLimited {
		t.Fatalf("during the back-off: %+v", resp)
	}
	// JSON numbers decode as float64.
	if got := resp.Errors[0].Extensions["retryAfterSeconds"]; got != float64(4) || resp.Errors[0].Message != "Too many attempts. Try again in 4 seconds." {
		t.Errorf("the refusal: %q, retryAfterSeconds %v; want 4 seconds", resp.Errors[0].Message, got)
	}
}
