// Package faults lets tests kill the process at a named point, to prove
// that what a crash leaves behind is repaired at the next start. Only a test
// binary can arm it (testing.Testing), through BFF_TEST_FAULT=<point>.
package faults

import (
	"os"
	"syscall"
	"testing"
)

// Points.
const (
	// AfterCustomerChange is after a customer's change is written and before
	// its audit record and events are in their own collections (Mongo), or
	// before the transaction commits (SQLite).
	AfterCustomerChange = "after-customer-change"
)

// Crash kills the process with SIGKILL if a test armed point.
func Crash(point string) {
	if testing.Testing() && os.Getenv("BFF_TEST_FAULT") == point {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal arrives; nothing after this point runs
	}
}
