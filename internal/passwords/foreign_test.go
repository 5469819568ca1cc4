package passwords

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/iotconsole/bff/internal/passwords/passwordstest"
)

const (
	importedPassword = "correct horse ünïcode staple" // multi-byte UTF-8
	testIterations   = passwordstest.Iterations
)

var cheapParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// The fixtures come from passwordstest, which other packages' tests share.
var (
	randomSalt      = passwordstest.RandomSalt
	ab64            = passwordstest.AB64
	std64           = passwordstest.Std64
	bcryptFixture   = passwordstest.Bcrypt
	argon2Fixture   = passwordstest.Argon2
	passlibFixture  = passwordstest.Passlib
	djangoFixture   = passwordstest.Django
	keycloakFixture = passwordstest.Keycloak
	foreignFixtures = passwordstest.ForeignHashes
)

func TestVerifyForeign(t *testing.T) {
	h := NewHasher(OWASP, 1, time.Second)
	ctx := context.Background()
	for name, encoded := range foreignFixtures(t, importedPassword) {
		if err := Check(encoded); err != nil {
			t.Errorf("%s: Check: %v", name, err)
		}
		if ok, err := h.Verify(ctx, encoded, importedPassword); !ok || err != nil {
			t.Errorf("%s: right password: %v, %v", name, ok, err)
		}
		for _, wrong := range []string{"", "correct horse unicode staple", importedPassword + " "} {
			if ok, err := h.Verify(ctx, encoded, wrong); ok || err != nil {
				t.Errorf("%s: wrong password %q: %v, %v", name, wrong, ok, err)
			}
		}
		if !h.NeedsRehash(encoded) {
			t.Errorf("%s: NeedsRehash false", name)
		}
	}
}

func TestOwnArgon2id(t *testing.T) {
	h := NewHasher(OWASP, 1, time.Second)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, importedPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(encoded); err != nil {
		t.Errorf("Check(Hash) = %v", err)
	}
	if ok, err := h.Verify(ctx, encoded, importedPassword); !ok || err != nil {
		t.Errorf("Verify(Hash, right) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(ctx, encoded, "wrong"); ok || err != nil {
		t.Errorf("Verify(Hash, wrong) = %v, %v", ok, err)
	}
	if h.NeedsRehash(Encode(OWASP, importedPassword)) {
		t.Error("NeedsRehash(Encode(OWASP)) with an OWASP hasher")
	}
	cheap := Encode(cheapParams, importedPassword) // the parameters other packages' tests use
	if err := Check(cheap); err != nil || !h.NeedsRehash(cheap) || NewHasher(cheapParams, 1, time.Second).NeedsRehash(cheap) {
		t.Errorf("cheap argon2id: Check %v, NeedsRehash by OWASP %v, by its own hasher %v",
			err, h.NeedsRehash(cheap), NewHasher(cheapParams, 1, time.Second).NeedsRehash(cheap))
	}
	longer := cheapParams
	longer.KeyLen = 64
	if !NewHasher(cheapParams, 1, time.Second).NeedsRehash(Encode(longer, importedPassword)) {
		t.Error("NeedsRehash false for another key length")
	}
	if !h.NeedsRehash("") || !h.NeedsRehash("$argon2id$") {
		t.Error("NeedsRehash false for a malformed hash")
	}
}

// x/crypto/bcrypt reads the minor version letter only to write it back, so
// $2y$ (crypt_blowfish, PHP) needs no rewriting to $2b$.
func TestBcrypt2y(t *testing.T) {
	a := bcryptFixture(t, importedPassword, "$2a$")
	for _, prefix := range []string{"$2b$", "$2y$"} {
		same := prefix + a[len("$2a$"):]
		if err := bcrypt.CompareHashAndPassword([]byte(same), []byte(importedPassword)); err != nil {
			t.Errorf("x/crypto/bcrypt refuses %s: %v", prefix, err)
		}
		if ok, err := NewHasher(OWASP, 1, time.Second).Verify(context.Background(), same, importedPassword); !ok || err != nil {
			t.Errorf("Verify %s = %v, %v", prefix, ok, err)
		}
	}
}

// kcArgon2 is a Keycloak argon2 credential in the flat shape with the given
// parameters (5 iterations).
func kcArgon2(t *testing.T, typ, version, memory, parallelism, length, salt, value string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"algorithm": "argon2", "hashIterations": 5, "salt": salt, "value": value,
		"additionalParameters": map[string][]string{"type": {typ}, "version": {version}, "memory": {memory}, "parallelism": {parallelism}, "hashLength": {length}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rejectCase is a hash Check must refuse, with a part of the message.
type rejectCase struct {
	name, encoded, want string
}

func rejectCases(t *testing.T) []rejectCase {
	t.Helper()
	b64 := base64.RawStdEncoding
	salt, key := randomSalt(t, 13), randomSalt(t, 29)
	s64, k64 := b64.EncodeToString(salt), b64.EncodeToString(key)
	argon := func(id, v, mtp, salt, key string) string {
		return fmt.Sprintf("$%s$%s$%s$%s$%s", id, v, mtp, salt, key)
	}
	bc := bcryptFixture(t, importedPassword, "$2b$")
	passlib := passlibFixture(t, "pbkdf2-sha256", sha256.New, 32, importedPassword)
	django := djangoFixture(t, "pbkdf2_sha256", sha256.New, 32, importedPassword)
	kc := func(alg string, iter any, salt, value string) string {
		b, _ := json.Marshal(map[string]any{"algorithm": alg, "hashIterations": iter, "salt": salt, "value": value})
		return string(b)
	}
	return []rejectCase{
		{"empty", "", "empty password hash"},
		{"plain text", "hunter2-is-my-password", "unknown password hash format"},
		{"md5-crypt", "$1$" + s64 + "$" + k64, "unknown password hash format"},
		{"bcrypt 2x", "$2x$" + bc[4:], "unknown password hash format"},
		{"argon2d", argon("argon2d", "v=19", "m=64,t=1,p=1", s64, k64), "unknown password hash format"},
		{"django unsalted", "unsalted_sha1$$" + k64, "unknown password hash format"},
		{"too long", "$2b$" + strings.Repeat("a", maxEncodedLen), "password hash longer than 4096 bytes"},

		{"bcrypt truncated", bc[:59], "bcrypt hash is not $2b$<two-digit cost>"},
		{"bcrypt 2a truncated", "$2a$" + bc[4:59], "bcrypt hash is not $2a$<two-digit cost>"}, // its own prefix named
		{"bcrypt cost 20", bc[:4] + "20" + bc[6:], "bcrypt cost 20 above the limit 14"},
		{"bcrypt cost 15", bc[:4] + "15" + bc[6:], "bcrypt cost 15 above the limit 14"},
		{"bcrypt cost 3", bc[:4] + "03" + bc[6:], "bcrypt cost 3 below 4"},
		{"bcrypt cost letters", bc[:4] + "1x" + bc[6:], "bcrypt cost is not a number"},
		{"bcrypt bad base64", bc[:59] + "!", "outside bcrypt's base64 alphabet"},

		{"argon2id truncated", argon("argon2id", "v=19", "m=64,t=1,p=1", s64, "")[:40], "argon2id hash is not"},
		{"argon2id no hash", strings.TrimSuffix(argon("argon2id", "v=19", "m=64,t=1,p=1", s64, ""), "$"), "argon2id hash is not"},
		{"argon2i version 16", argon("argon2i", "v=16", "m=64,t=1,p=1", s64, k64), "argon2i version 16 is not supported (only 19)"},
		{"argon2id no version", "$argon2id$m=64,t=1,p=1$" + s64 + "$" + k64, "argon2id hash is not"},
		{"argon2id keyid", argon("argon2id", "v=19", "m=64,t=1,p=1,keyid=Zm9v", s64, k64), "argon2id parameters are not"},
		{"argon2id order", argon("argon2id", "v=19", "t=1,m=64,p=1", s64, k64), "argon2id parameters are not"},
		{"argon2id memory", argon("argon2id", "v=19", "m=262145,t=1,p=1", s64, k64), "argon2id memory 262145 KiB above the limit 262144 KiB"},
		{"argon2id memory per lane", argon("argon2id", "v=19", "m=31,t=1,p=4", s64, k64), "argon2id memory 31 KiB below 32 KiB"},
		{"argon2id time 0", argon("argon2id", "v=19", "m=64,t=0,p=1", s64, k64), "argon2id time 0 below 1"},
		{"argon2id time 11", argon("argon2id", "v=19", "m=64,t=11,p=1", s64, k64), "argon2id time 11 above the limit 10"},
		{"argon2id threads 0", argon("argon2id", "v=19", "m=64,t=1,p=0", s64, k64), "argon2id threads 0 below 1"},
		{"argon2id threads 17", argon("argon2id", "v=19", "m=1024,t=1,p=17", s64, k64), "argon2id threads 17 above the limit 16"},
		{"argon2id huge memory", argon("argon2id", "v=19", "m=99999999999,t=1,p=1", s64, k64), "argon2id parameters are not"},
		{"argon2id bad salt", argon("argon2id", "v=19", "m=64,t=1,p=1", s64+"!", k64), "argon2id salt is not base64"},
		{"argon2id bad hash", argon("argon2id", "v=19", "m=64,t=1,p=1", s64, k64[:len(k64)-3]+"*"), "argon2id hash is not base64"},
		{"argon2id short salt", argon("argon2id", "v=19", "m=64,t=1,p=1", b64.EncodeToString(salt[:7]), k64), "argon2id salt 7 bytes below 8 bytes"},
		{"argon2id short hash", argon("argon2id", "v=19", "m=64,t=1,p=1", s64, b64.EncodeToString(key[:15])), "argon2id hash 15 bytes below 16 bytes"},

		{"passlib truncated", passlib[:strings.LastIndex(passlib, "$")], "pbkdf2-sha256 hash is not"},
		{"passlib iterations 0", "$pbkdf2$0$" + ab64(salt) + "$" + ab64(key), "pbkdf2 iterations 0 below 1"},
		{"passlib iterations high", "$pbkdf2-sha256$2000001$" + ab64(salt) + "$" + ab64(key), "pbkdf2-sha256 iterations 2000001 above the limit 2000000"},
		{"passlib long hash, iterations x blocks high", "$pbkdf2-sha256$1000001$" + ab64(salt) + "$" + ab64(append(slices.Clone(key), make([]byte, 64-len(key))...)),
			"pbkdf2-sha256 iterations x blocks 2000002 (1000001 x 2 blocks of a 64-byte hash) above the limit 2000000"},
		{"keycloak 128-byte hash, iterations x blocks high", kc("pbkdf2", 400000, std64(salt), std64(append(slices.Clone(key), make([]byte, 128-len(key))...))),
			"keycloak pbkdf2 iterations x blocks 2800000 (400000 x 7 blocks of a 128-byte hash) above the limit 2000000"},
		{"passlib sha512 iterations high", "$pbkdf2-sha512$1000001$" + ab64(salt) + "$" + ab64(key), "pbkdf2-sha512 iterations 1000001 above the limit 1000000"},
		{"argon2id memory x time", argon("argon2id", "v=19", "m=262144,t=4,p=1", s64, k64), "argon2id memory x time 1048576 KiB above the limit 786432 KiB"},
		{"passlib iterations sign", "$pbkdf2$-5$" + ab64(salt) + "$" + ab64(key), "pbkdf2 iterations are not a number"},
		{"passlib bad salt", "$pbkdf2$1000$" + ab64(salt) + "!$" + ab64(key), "pbkdf2 salt is not adapted base64"},
		{"passlib bad hash", "$pbkdf2$1000$" + ab64(salt) + "$" + ab64(key) + "!", "pbkdf2 hash is not adapted base64"},
		{"passlib empty salt", "$pbkdf2$1000$$" + ab64(key), "pbkdf2 salt is empty"},
		{"passlib long hash", "$pbkdf2$1000$" + ab64(salt) + "$" + ab64(append(key, make([]byte, 100)...)), "pbkdf2 hash 132 bytes above the limit 128 bytes"},

		{"django truncated", django[:strings.LastIndex(django, "$")], "django pbkdf2_sha256 hash is not"},
		{"django iterations", "pbkdf2_sha1$abc$" + s64 + "$" + std64(key), "django pbkdf2_sha1 iterations are not a number"},
		{"django bad hash", "pbkdf2_sha256$1000$saltsalt$*" + std64(key)[1:], "django pbkdf2_sha256 hash is not base64"},
		{"django short hash", "pbkdf2_sha256$1000$saltsalt$" + std64(key[:8]), "django pbkdf2_sha256 hash 8 bytes below 16 bytes"},

		{"keycloak truncated", kc("pbkdf2-sha256", 27500, std64(salt), std64(key))[:60], "keycloak credential is not a JSON object"},
		{"keycloak algorithm", kc("scrypt", 3, std64(salt), std64(key)), "keycloak credential algorithm is not pbkdf2, pbkdf2-sha256, pbkdf2-sha512 or argon2"},
		{"keycloak argon2 without parameters", kc("argon2", 3, std64(salt), std64(key)), "keycloak argon2 type is not id or i"},
		{"keycloak argon2d", kcArgon2(t, "d", "1.3", "7168", "1", "32", s64, k64), "keycloak argon2 type d (argon2d) is not supported"},
		{"keycloak argon2 1.0", kcArgon2(t, "id", "1.0", "7168", "1", "32", s64, k64), "keycloak argon2 version is not 1.3"},
		{"keycloak argon2 memory", kcArgon2(t, "id", "1.3", "", "1", "32", s64, k64), "keycloak argon2 memory is not one number"},
		{"keycloak argon2 huge memory", kcArgon2(t, "id", "1.3", "9999999", "1", "32", s64, k64), "keycloak argon2 memory 9999999 KiB above the limit"},
		{"keycloak argon2 length", kcArgon2(t, "id", "1.3", "7168", "1", "29", s64, k64), "keycloak argon2 value is 32 bytes where hashLength says 29"},
		{"keycloak no algorithm", `{"hashIterations":1000,"salt":"` + std64(salt) + `","value":"` + std64(key) + `"}`, "algorithm is not"},
		{"keycloak iterations 0", kc("pbkdf2-sha256", 0, std64(salt), std64(key)), "keycloak pbkdf2-sha256 iterations 0 below 1"},
		{"keycloak iterations -1", kc("pbkdf2", -1, std64(salt), std64(key)), "keycloak pbkdf2 iterations -1 below 1"},
		{"keycloak iterations text", kc("pbkdf2", "27500", std64(salt), std64(key)), "not a JSON object of the expected shape"},
		{"keycloak no iterations", `{"algorithm":"pbkdf2","salt":"` + std64(salt) + `","value":"` + std64(key) + `"}`, "keycloak pbkdf2 credential has no hashIterations"},
		{"keycloak bad value", kc("pbkdf2-sha512", 1000, std64(salt), "%%"+std64(key)), "keycloak pbkdf2-sha512 value is not base64"},
		{"keycloak bad salt", kc("pbkdf2-sha512", 1000, "#"+std64(salt), std64(key)), "keycloak pbkdf2-sha512 salt is not base64"},
		{"keycloak otp", `{"type":"otp","algorithm":"pbkdf2","hashIterations":1000,"salt":"` + std64(salt) + `","value":"` + std64(key) + `"}`, "not of type password"},
		{"keycloak mixed", `{"algorithm":"pbkdf2","credentialData":"{}","secretData":"{\"value\":\"` + std64(key) + `\"}"}`, "mixes the flat and"},
		{"keycloak bad inner", `{"credentialData":"{\"algorithm\":","secretData":"{\"value\":\"` + std64(key) + `\"}"}`, "credentialData or secretData is not a JSON object"},
		{"keycloak trailing", kc("pbkdf2", 1000, std64(salt), std64(key)) + "x", "not a JSON object"},
		{"keycloak value array", `{"algorithm":"pbkdf2","value":["` + std64(key) + `"]}`, "not a JSON object of the expected shape"},
		{"json array", `["` + std64(key) + `"]`, "unknown password hash format"},
	}
}

func TestCheckRejects(t *testing.T) {
	h := NewHasher(OWASP, 1, time.Second)
	for _, c := range rejectCases(t) {
		err := Check(c.encoded)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check = %v, want %q", c.name, err, c.want)
			continue
		}
		if !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: %v does not match ErrMalformedHash", c.name, err)
		}
		ok, verr := h.Verify(context.Background(), c.encoded, importedPassword)
		if ok || verr == nil || verr.Error() != err.Error() || !errors.Is(verr, ErrMalformedHash) {
			t.Errorf("%s: Verify = %v, %v; want Check's error", c.name, ok, verr)
		}
	}
	// At the limit a hash longer than its digest is accepted (Keycloak's
	// 64-byte HMAC-SHA-256 hashes: two blocks).
	long := make([]byte, 64)
	if err := Check("$pbkdf2-sha256$1000000$" + ab64(randomSalt(t, 13)) + "$" + ab64(long)); err != nil {
		t.Errorf("Check of 1,000,000 iterations x 2 blocks = %v, want nil", err)
	}
	// The messages the import's rejects file shows, word for word.
	for encoded, want := range map[string]string{
		"$sha1$40000$salt$hash":                                                "unknown password hash format",
		"$2b$20$" + strings.Repeat("a", 53):                                    "bcrypt cost 20 above the limit 14",
		"$pbkdf2$0$" + ab64(randomSalt(t, 13)) + "$" + strings.Repeat("A", 27): "pbkdf2 iterations 0 below 1",
	} {
		if err := Check(encoded); err == nil || err.Error() != want {
			t.Errorf("Check = %v, want %q", err, want)
		}
	}
}

// No message quotes the hash: neither the whole nor any salt or hash part
// of it, nor a password pasted where a hash belongs.
func TestErrorsDoNotQuoteInput(t *testing.T) {
	for _, c := range rejectCases(t) {
		err := Check(c.encoded)
		if err == nil {
			continue // TestCheckRejects reports it
		}
		msg := err.Error()
		if c.encoded != "" && strings.Contains(msg, c.encoded) {
			t.Errorf("%s: message %q contains the input", c.name, msg)
		}
		for _, part := range strings.FieldsFunc(c.encoded, func(r rune) bool { return strings.ContainsRune("$,\"{}:\\ ", r) }) {
			if len(part) >= 11 && strings.Contains(msg, part) && !isFieldName(part) {
				t.Errorf("%s: message %q quotes %q", c.name, msg, part)
			}
		}
	}
}

// isFieldName tells the words messages may share with the input: format
// names and Keycloak's member names.
func isFieldName(s string) bool {
	switch s {
	case "pbkdf2-sha256", "pbkdf2-sha512", "pbkdf2_sha256", "pbkdf2_sha1", "credentialData", "hashIterations":
		return true
	}
	return false
}

func TestVerifyMalformedTakesNoSlot(t *testing.T) {
	h := NewHasher(OWASP, 1, time.Millisecond)
	h.slots <- struct{}{} // the only slot is busy
	defer h.release()
	if _, err := h.Verify(context.Background(), "not a hash", "x"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("Verify = %v, want ErrMalformedHash without waiting for a slot", err)
	}
}

// Check and NeedsRehash answer any text without panicking, and every refusal
// matches ErrMalformedHash.
func FuzzCheck(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$c29tZXNhbHRzb21lc2FsdA")
	f.Add("$2y$04$" + strings.Repeat(".", 53))
	f.Add("$pbkdf2-sha256$1000$c2FsdA$" + strings.Repeat("A", 43))
	f.Add("pbkdf2_sha1$1000$salt$" + strings.Repeat("A", 27) + "=")
	f.Add(`{"credentialData":"{\"hashIterations\":1,\"algorithm\":\"pbkdf2\"}","secretData":"{\"value\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"salt\":\"AA==\"}"}`)
	h := NewHasher(cheapParams, 1, time.Second)
	f.Fuzz(func(t *testing.T, encoded string) {
		err := Check(encoded)
		if err != nil && !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("Check = %v, not ErrMalformedHash", err)
		}
		if err != nil && !h.NeedsRehash(encoded) {
			t.Fatal("NeedsRehash false for a refused hash")
		}
	})
}
