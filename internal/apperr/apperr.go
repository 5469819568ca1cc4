// Package apperr holds the transport-free errors every domain package returns.
// The GraphQL error presenter maps each of them to one extensions.code; anything
// else is an internal error.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Wrap them with fmt.Errorf("...: %w", err) to add context.
var (
	// ErrNotFound means the object does not exist or is outside the caller's domain.
	ErrNotFound = errors.New("not found")
	// ErrOtherDomain means the object exists in another domain than the
	// caller's. It is an ErrNotFound (errors.Is holds), so callers answer
	// it exactly as a missing object; the error presenter also records the
	// attempt.
	ErrOtherDomain = fmt.Errorf("%w (another domain's)", ErrNotFound)
	// ErrOtherCustomer means a customer (or an operator assisting one)
	// asked for an object of another customer of its domain. Like
	// ErrOtherDomain it is an ErrNotFound, answered as a missing object,
	// and the error presenter records the attempt.
	ErrOtherCustomer = fmt.Errorf("%w (another customer's)", ErrNotFound)
	// ErrConflict means a unique value (an email in a domain, a slug) is taken.
	ErrConflict = errors.New("already exists")
	// ErrUnauthenticated means no valid session came with the request.
	ErrUnauthenticated = errors.New("not signed in")
	// ErrForbidden means the caller is signed in but may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalidCredentials is the one answer for an unknown account or a wrong password.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrAccountDisabled means the account exists, the caller proved who they are, and it is disabled.
	ErrAccountDisabled = errors.New("This account has been disabled. Please contact customer support.")
	// ErrOperatorDisabled is ErrAccountDisabled (errors.Is holds) for an
	// operator, who has no customer support to call.
	ErrOperatorDisabled error = operatorDisabled{}
	// ErrRateLimited means the caller must slow down.
	ErrRateLimited = errors.New("too many requests, try again later")
	// ErrPasswordChangeRequired means the session may only change the password.
	ErrPasswordChangeRequired = errors.New("change your password first")
	// ErrUnavailable means the store cannot be reached right now.
	ErrUnavailable = errors.New("service temporarily unavailable")
)

type operatorDisabled struct{}

func (operatorDisabled) Error() string {
	return "This account has been disabled. Ask an ADMIN of your company to enable it."
}

func (operatorDisabled) Is(target error) bool { return target == ErrAccountDisabled }

// RateLimitError is an ErrRateLimited (errors.Is holds) that knows how long
// the caller must wait before trying again.
type RateLimitError struct {
	Wait time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("retry in %s: %v", e.Wait.Round(time.Second), ErrRateLimited)
}

// Unwrap makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// RetryAfter returns a *RateLimitError: the caller must wait for wait.
func RetryAfter(wait time.Duration) error { return &RateLimitError{Wait: wait} }

// ValidationError reports one bad input value: which field, a stable code and a
// sentence for a person.
type ValidationError struct {
	Field   string
	Code    string
	Message string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Invalid returns a *ValidationError.
func Invalid(field, code, message string) error {
	return &ValidationError{Field: field, Code: code, Message: message}
}
