package sqlite

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"

	"modernc.org/sqlite"
)

// The customers table keeps, beside each email, its digest
// (customers.email_digest: the first 8 bytes of the email's SHA-256, as a
// signed big-endian integer), and the domain's emails are unique by their
// digests (the index customers_domain_email_digest, migration 24) instead
// of by the emails themselves: an index entry of 8 bytes instead of the
// email's 35 on average, 20 bytes a customer less at a million after the
// column's own 9 (docs/BENCHMARKS.md, "Twenty-first round").
//
// A lookup by email reads the digest's entry and compares the email too
// (emailIs). Two different emails of one domain with the same digest would
// be refused as taken: at a million emails in a domain, one in 2^44 for the
// next one written, and finding such an email for a given one is as hard
// as a second preimage of 64 bits of SHA-256 (about 2^64 hashes).

// emailDigest returns email's digest, as customers.email_digest keeps it.
func emailDigest(email string) int64 {
	sum := sha256.Sum256([]byte(email))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// emailIs is the condition, with two parameters (emailDigest(email) and
// email), that customers c has the email given.
const emailIs = `c.email_digest = ? AND c.email = ?`

// email_digest(text) is emailDigest in SQL, for migration 24, which
// digests the emails stored before it.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("email_digest", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		email, ok := args[0].(string)
		if !ok {
			return nil, nil
		}
		return emailDigest(email), nil
	})
	if err != nil {
		panic(err)
	}
}
