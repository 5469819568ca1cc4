// Package passwordstest makes password hashes in every format the passwords
// package verifies, as other systems store them, for tests: each computed
// here with golang.org/x/crypto at low cost from a fresh random salt, so no
// hash is ever committed.
package passwordstest

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/pbkdf2"
)

// Iterations is the PBKDF2 iteration count of the hashes made here.
const Iterations = 1000

// RandomSalt returns n random bytes after 0xfb 0xef 0xbe, which base64
// writes "++++" (passlib: "...."), so that every fixture exercises the
// characters where the alphabets differ.
func RandomSalt(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return append([]byte{0xfb, 0xef, 0xbe}, b...)
}

// AB64 is passlib's "adapted base64": standard, '.' for '+', no padding.
func AB64(b []byte) string {
	return strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(b), "+", ".")
}

// Std64 is standard base64 with padding.
func Std64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Bcrypt hashes password at bcrypt's lowest cost, written with prefix
// ("$2a$", "$2b$" or "$2y$").
func Bcrypt(t testing.TB, password, prefix string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(b[len("$2a$"):])
}

// Argon2 hashes password with variant ("argon2id" or "argon2i") at
// m=64 KiB, t=1, p=1, as a PHC string.
func Argon2(t testing.TB, variant, password string) string {
	t.Helper()
	salt := RandomSalt(t, 13)
	var key []byte
	if variant == "argon2id" {
		key = argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	} else {
		key = argon2.Key([]byte(password), salt, 1, 64, 1, 32)
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=19$m=64,t=1,p=1$%s$%s", variant, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Passlib hashes password with PBKDF2 as passlib writes it:
// "$<id>$<iterations>$<ab64 salt>$<ab64 key>".
func Passlib(t testing.TB, id string, digest func() hash.Hash, size int, password string) string {
	t.Helper()
	salt := RandomSalt(t, 13)
	key := pbkdf2.Key([]byte(password), salt, Iterations, size, digest)
	return fmt.Sprintf("$%s$%d$%s$%s", id, Iterations, AB64(salt), AB64(key))
}

// Django hashes password with PBKDF2 as Django writes it:
// "<id>$<iterations>$<salt>$<base64 key>".
func Django(t testing.TB, id string, digest func() hash.Hash, size int, password string) string {
	t.Helper()
	salt := rand.Text() // 26 characters of base32, like Django's [a-zA-Z0-9] salts
	key := pbkdf2.Key([]byte(password), []byte(salt), Iterations, size, digest)
	return fmt.Sprintf("%s$%d$%s$%s", id, Iterations, salt, Std64(key))
}

// Keycloak hashes password with PBKDF2 as Keycloak exports a credential:
// flat JSON, or its two-part form (credentialData and secretData).
func Keycloak(t testing.TB, algorithm string, digest func() hash.Hash, size int, password string, twoPart bool) string {
	t.Helper()
	salt := RandomSalt(t, 13)
	key := pbkdf2.Key([]byte(password), salt, Iterations, size, digest)
	var v any = map[string]any{"algorithm": algorithm, "hashIterations": Iterations, "salt": Std64(salt), "value": Std64(key)}
	if twoPart {
		cred, _ := json.Marshal(map[string]any{"hashIterations": Iterations, "algorithm": algorithm, "additionalParameters": map[string]any{}})
		secret, _ := json.Marshal(map[string]any{"value": Std64(key), "salt": Std64(salt), "additionalParameters": map[string]any{}})
		v = map[string]any{"id": "0b9c6c3e", "type": "password", "createdDate": 1700000000000,
			"credentialData": string(cred), "secretData": string(secret)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ForeignHashes are hashes of password in every supported format except
// this package's own argon2id parameters, by name.
func ForeignHashes(t testing.TB, password string) map[string]string {
	t.Helper()
	return map[string]string{
		"bcrypt 2a":              Bcrypt(t, password, "$2a$"),
		"bcrypt 2b":              Bcrypt(t, password, "$2b$"),
		"bcrypt 2y":              Bcrypt(t, password, "$2y$"),
		"argon2id":               Argon2(t, "argon2id", password),
		"argon2i":                Argon2(t, "argon2i", password),
		"passlib pbkdf2":         Passlib(t, "pbkdf2", sha1.New, 20, password),
		"passlib pbkdf2-sha256":  Passlib(t, "pbkdf2-sha256", sha256.New, 32, password),
		"passlib pbkdf2-sha512":  Passlib(t, "pbkdf2-sha512", sha512.New, 64, password),
		"django pbkdf2_sha256":   Django(t, "pbkdf2_sha256", sha256.New, 32, password),
		"django pbkdf2_sha1":     Django(t, "pbkdf2_sha1", sha1.New, 20, password),
		"keycloak pbkdf2":        Keycloak(t, "pbkdf2", sha1.New, 64, password, false),
		"keycloak pbkdf2-sha256": Keycloak(t, "pbkdf2-sha256", sha256.New, 32, password, false),
		"keycloak pbkdf2-sha512": Keycloak(t, "pbkdf2-sha512", sha512.New, 64, password, false),
		"keycloak two-part":      Keycloak(t, "pbkdf2-sha256", sha256.New, 64, password, true),
		"keycloak argon2id":      KeycloakArgon2(t, "id", password),
		"keycloak argon2i":       KeycloakArgon2(t, "i", password),
	}
}

// KeycloakArgon2 returns password's argon2 credential (typ "id" or "i") as
// Keycloak 24 and later export it (two-part, parameters in
// additionalParameters as lists of one decimal string), at low cost.
func KeycloakArgon2(t testing.TB, typ, password string) string {
	t.Helper()
	salt := RandomSalt(t, 16)
	const iterations, memory, parallelism, length = 2, 64, 1, 32
	derive := argon2.IDKey
	if typ == "i" {
		derive = argon2.Key
	}
	key := derive([]byte(password), salt, iterations, memory, parallelism, length)
	cred, _ := json.Marshal(map[string]any{"hashIterations": iterations, "algorithm": "argon2", "additionalParameters": map[string][]string{
		"hashLength": {fmt.Sprint(length)}, "memory": {fmt.Sprint(memory)}, "type": {typ}, "version": {"1.3"}, "parallelism": {fmt.Sprint(parallelism)},
	}})
	secret, _ := json.Marshal(map[string]any{"value": Std64(key), "salt": Std64(salt), "additionalParameters": map[string]any{}})
	b, err := json.Marshal(map[string]any{"id": "5e1c0d7a", "type": "password", "createdDate": 1700000000000,
		"credentialData": string(cred), "secretData": string(secret)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
