package sqlite

import (
	"context"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// An argon2id hash as passwords.Encode writes it, whatever its parameters,
// is kept as a BLOB that gives the very string back; every other hash, and
// an argon2id string written another way, is kept as it is.
func TestPasswordHashesKeptCompactGiveTheSameStringBack(t *testing.T) {
	compact := []string{
		passwords.Encode(passwords.OWASP, "correct horse battery staple"),
		passwords.Encode(passwords.Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 32, KeyLen: 64}, "another password"),
		"$argon2id$v=19$m=19456,t=2,p=1$Qm8udxR50eBZt6623kc6zA$XQt4wQLv1/PemIlEYBU8lmbMdqtrOliYwkr8li6x/nY",
	}
	for _, h := range compact {
		b, ok := hashKey(h).([]byte)
		if !ok || len(b) >= len(h) {
			t.Errorf("%s: kept as %T of %d bytes, want a shorter BLOB", h, hashKey(h), len(b))
			continue
		}
		var back string
		if err := hashScan(&back).Scan(b); err != nil || back != h {
			t.Errorf("%s: read back as %q (%v)", h, back, err)
		}
	}
	for _, h := range []string{
		"", "x", "$argon2id$test",
		"$2b$04$abcdefghijklmnopqrstuu5Qw3JRt1CkE9V7xOQ0TqLm3uI9y1D2",
		"$pbkdf2-sha256$29000$N2bMeQ8BYIzxvvee0/pfaw$hUSlm2qLQ8U5fdMgxjvA6CXoUtIYh5ug3lGDzZ2uj2w",
		"pbkdf2_sha256$600000$salt$aGFzaA==",
		`{"algorithm":"pbkdf2-sha256","hashIterations":27500,"salt":"c2FsdA==","value":"aGFzaA=="}`,
		"$argon2i$v=19$m=19456,t=2,p=1$Qm8udxR50eBZt6623kc6zA$XQt4wQLv1/PemIlEYBU8lmbMdqtrOliYwkr8li6x/nY",
		"$argon2id$v=019$m=19456,t=2,p=1$Qm8udxR50eBZt6623kc6zA$XQt4wQLv1/PemIlEYBU8lmbMdqtrOliYwkr8li6x/nY",         // a leading zero
		"$argon2id$v=19$m=19456,t=2,p=1$Qm8udxR50eBZt6623kc6zA==$XQt4wQLv1/PemIlEYBU8lmbMdqtrOliYwkr8li6x/nY",        // padded
		"$argon2id$v=19$m=19456,t=2,p=1$Qm8udxR50eBZt6623kc6zA$XQt4wQLv1_PemIlEYBU8lmbMdqtrOliYwkr8li6x_nY",          // URL alphabet
		"$argon2id$v=19$t=2,m=19456,p=1$Qm8udxR50eBZt6623kc6zA$XQt4wQLv1/PemIlEYBU8lmbMdqtrOliYwkr8li6x/nY",          // other order
		"$argon2id$v=19$m=19456,t=2,p=1,data=abc$Qm8udxR50eBZt6623kc6zA$XQt4wQLv1/PemIlEYBU8lmbMdqtrOliYwkr8li6x/nY", // more
	} {
		if got, ok := hashKey(h).(string); !ok || got != h {
			t.Errorf("%q: kept as %#v, want its text", h, hashKey(h))
		}
	}
}

// A customer's argon2id hash is stored compact and read back as written,
// and RehashPassword, which compares the stored hash with the one the
// sign-in checked, replaces it (from a compact one and from a text one).
func TestStoredPasswordHashesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d := storetest.NewDomain(t, s)
	c := storetest.NewCustomer(d, "Ann", "Lee", "ann@example.com", "")
	c.PasswordHash = passwords.Encode(passwords.OWASP, "correct horse battery staple")
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	stored := func() (string, string) {
		var kind string
		if err := s.read.QueryRowContext(ctx, `SELECT typeof(password_hash) FROM customers WHERE id = ?`, idKey(c.ID)).Scan(&kind); err != nil {
			t.Fatal(err)
		}
		got, err := s.CustomerByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return kind, got.PasswordHash
	}
	if kind, hash := stored(); kind != "blob" || hash != c.PasswordHash {
		t.Fatalf("stored as %s, read back as %q, want a blob giving %q", kind, hash, c.PasswordHash)
	}
	bcrypt := "$2b$04$abcdefghijklmnopqrstuu5Qw3JRt1CkE9V7xOQ0TqLm3uI9y1D2"
	newer := passwords.Encode(passwords.OWASP, "correct horse battery staple")
	for _, step := range []struct{ from, to, kind string }{{c.PasswordHash, bcrypt, "text"}, {bcrypt, newer, "blob"}} {
		if err := s.RehashPassword(ctx, c.ID, step.from, step.to); err != nil {
			t.Fatal(err)
		}
		if kind, hash := stored(); kind != step.kind || hash != step.to {
			t.Fatalf("after RehashPassword to %q: stored as %s, read back as %q", step.to, kind, hash)
		}
	}
}
