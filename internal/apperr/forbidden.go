package apperr

// ForbiddenError is ErrForbidden with a message written for the caller,
// saying why and what to do instead (a view-only assistance asked to
// change something). errors.Is(err, ErrForbidden) holds.
type ForbiddenError struct{ Message string }

// Forbidden returns a *ForbiddenError with message, shown to the caller as
// it is: it must name no secret and echo no input.
func Forbidden(message string) error { return &ForbiddenError{Message: message} }

func (e *ForbiddenError) Error() string { return "forbidden: " + e.Message }

// Is makes a *ForbiddenError match ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }
