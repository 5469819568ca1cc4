// Package ids makes the identifiers of stored objects.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

var (
	mu   sync.Mutex
	last [16]byte
)

// New returns a 32-character lower-case hex id: 48 bits of Unix milliseconds
// followed by 80 random bits, so ids sort by creation time and never collide
// in practice. Within one process they are strictly increasing, as ULIDs'
// monotonic mode makes them: an id made in the same millisecond as the one
// before (or while the system clock steps back) is the one before plus one,
// so that records written in one millisecond keep their order (the audit log
// and the event stream sort by time, then id).
func New() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never returns an error
	mu.Lock()
	defer mu.Unlock()
	if string(b[:6]) <= string(last[:6]) {
		b = last
		for i := len(b) - 1; i >= 0; i-- { // add one, carrying
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	last = b
	return hex.EncodeToString(b[:])
}

// IsNew reports whether s has the form New gives: 32 lower-case hex digits.
func IsNew(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// NewShort returns a 12-character lower-case hex id of 48 random bits, for
// objects that are few but named by every row under them: a domain, whose
// id is in every customer, device and their indexes (20 bytes shorter than
// New's, it saves about 130 MiB of a million customers' store,
// docs/BENCHMARKS.md, "Disk"). Not ordered by time. Two of n such ids are
// equal with probability about n²/2^49 (1 in 5 × 10^10 for 100 domains);
// the stores refuse a duplicate as a conflict, never overwrite.
func NewShort() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}
