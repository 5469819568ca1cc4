// Package passwords hashes passwords with argon2id and verifies them against
// that and the formats of hashes imported from other systems (see Check),
// with a bound on how many hashes run at once so that a burst of logins
// cannot exhaust the machine's memory or starve other requests.
package passwords

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/iotconsole/bff/internal/apperr"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's first argon2id
// configuration: 19 MiB of memory, 2 iterations, 1 degree of parallelism.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformedHash means a stored hash is not one Check accepts: an unknown
// format, a broken one, or parameters out of bounds. Check's and Verify's
// errors match it under errors.Is and say what is wrong without quoting the
// hash.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes and verifies passwords, at most a fixed number at a time.
type Hasher struct {
	params Params
	slots  chan struct{}
	wait   time.Duration
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once and
// waits at most wait for a free slot.
func NewHasher(params Params, concurrency int, wait time.Duration) *Hasher {
	return &Hasher{params: params, slots: make(chan struct{}, max(1, concurrency)), wait: wait}
}

func (h *Hasher) acquire(ctx context.Context) error {
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return fmt.Errorf("password hashing is saturated: %w", apperr.ErrRateLimited)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>. It returns apperr.ErrRateLimited
// when no hashing slot frees up in time.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return Encode(h.params, password), nil
}

// Normalize returns password in Unicode Normalization Form KC, the form
// every password is hashed in (Hash, Encode) and verified in first
// (Verify): NIST SP 800-63B §5.1.1.2 says verifiers SHOULD apply NFKC or
// NFKD before hashing, so that "é" typed as one character (NFC, most
// keyboards) or as "e" and a combining accent (NFD, some systems' input
// methods and copy-paste from macOS file names) is the same password, and
// full-width or ligature forms are their plain letters.
func Normalize(password string) string { return norm.NFKC.String(password) }

// Encode hashes password (normalized, see Normalize) with p without
// waiting for a slot; it is for tools that hash once (seeding), not for
// request paths.
func Encode(p Params, password string) string {
	return encode(p, Normalize(password))
}

func encode(p Params, password string) string {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches encoded, a hash of any format
// Check accepts (argon2id as Hash writes it, argon2i, bcrypt, and the PBKDF2
// of passlib, Django and Keycloak), comparing in constant time inside a
// hashing slot. It returns an error matching ErrMalformedHash for a hash
// Check refuses, apperr.ErrRateLimited when no hashing slot frees up in
// time, and crypto/pbkdf2's refusal in FIPS 140-only mode. After a
// successful Verify, NeedsRehash says whether to store Hash's output
// instead.
//
// The password is compared in its normalized form (Normalize) first and,
// when that differs and does not match, as typed: hashes stored before
// passwords were normalized (and imported ones) hold the bytes as typed
// then. That second comparison costs a second hash, only for a password
// whose normalized form differs from what was typed (the caller's own
// input, under the same sign-in limits).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	s, err := parse(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	normalized := Normalize(password)
	ok, err := s.matches(normalized)
	if ok || err != nil || normalized == password {
		return ok, err
	}
	return s.matches(password)
}
