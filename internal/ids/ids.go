// Package ids makes the identifiers of stored objects.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// New returns a 32-character lower-case hex id: 48 bits of Unix milliseconds
// followed by 80 random bits, so ids sort roughly by creation time and never
// collide in practice.
func New() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}
