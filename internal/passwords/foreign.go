package passwords

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Bounds on what Check and Verify accept, so that one stored hash cannot
// take the machine's memory or more than about a second of a core per
// sign-in: sign-in hashes two at a time, and a tryout's two wrong guesses at
// bcrypt of cost 16 (4.3 s each) kept every other sign-in waiting 8 s.
// Measured on the 2-core machine: bcrypt 14 1.1 s, PBKDF2-HMAC-SHA-512 of
// 1,000,000 iterations 0.7 s, PBKDF2-HMAC-SHA-256 of 2,000,000 0.5 s,
// argon2id 64 MiB x 10 passes 0.6 s (256 MiB x 10: 4.5 s). Ours unless a
// source is named.
const (
	maxEncodedLen = 4096 // bytes of the stored text, JSON included

	bcryptMinCost = 4  // bcrypt.MinCost, as OpenBSD's bcrypt(3)
	bcryptMaxCost = 14 // each step doubles the work: 16 times the common default 10

	argon2MaxMemory  = 256 * 1024 // KiB (256 MiB); the minimum is 8 per lane (RFC 9106 §3.1)
	argon2MaxTime    = 10         // passes; the minimum is 1
	argon2MaxWork    = 768 * 1024 // KiB x passes: libsodium's "moderate" (256 MiB, 3 passes), four OWASP-sized hashes' worth
	argon2MaxThreads = 16         // lanes; the minimum is 1
	argon2MinSaltLen = 8          // bytes: ARGON2_MIN_SALT_LENGTH of the reference implementation

	// PBKDF2's limits count iterations times blocks: a hash longer than the
	// digest is derived one digest-sized block at a time, each block the
	// whole count of iterations (RFC 8018 §5.2), so a 128-byte hash of
	// HMAC-SHA-256 costs four times its iterations.
	pbkdf2MaxIterations       = 2_000_000 // above OWASP's 1,300,000 for HMAC-SHA1 and Django 5.2's 1,000,000
	pbkdf2SHA512MaxIterations = 1_000_000 // SHA-512 is about twice SHA-256's work; OWASP asks 210,000

	minKeyLen = 16  // bytes of stored hash, argon2 and PBKDF2
	maxKeyLen = 128 // bytes
)

// kind is the computation a stored hash asks for.
type kind int

const (
	kindArgon2id kind = iota
	kindArgon2i
	kindBcrypt
	kindPBKDF2
)

// stored is a stored hash, read and within the bounds.
type stored struct {
	kind   kind
	name   string           // format, for messages: "bcrypt", "argon2id", "django pbkdf2_sha1", …
	params Params           // argon2: Memory, Time, Threads, KeyLen (SaltLen unset)
	iter   int              // PBKDF2 iterations
	digest func() hash.Hash // PBKDF2 HMAC hash
	salt   []byte           // argon2, PBKDF2
	key    []byte           // argon2, PBKDF2: the derived key to compare with
	bcrypt []byte           // bcrypt: the whole 60-character hash
}

// hashError is what is wrong with a stored hash, in words that never quote
// it (only format names and the numbers of its parameters). It matches
// ErrMalformedHash under errors.Is.
type hashError string

func (e hashError) Error() string           { return string(e) }
func (hashError) Is(target error) bool      { return target == ErrMalformedHash }
func problem(format string, a ...any) error { return hashError(fmt.Sprintf(format, a...)) }

// Check is what an import validates before it writes a stored hash: nil
// when encoded is a well-formed hash of a supported format within the
// bounds (the const block above), otherwise an error, matching
// ErrMalformedHash, whose message says what is wrong in plain words for a
// rejects file ("unknown password hash format", "bcrypt cost 20 above the
// limit 16", "pbkdf2 iterations 0 below 1") and never contains the hash.
// Check does no hashing and takes no slot. Verify accepts exactly what
// Check accepts.
//
// Supported formats:
//
//   - bcrypt: $2a$, $2b$ or $2y$, a two-digit cost, then 53 characters of
//     bcrypt's base64 (22 of salt, 31 of hash); 60 characters in all.
//     $2a$ and $2b$ are OpenBSD's (bcrypt(3)); $2y$ is crypt_blowfish's name
//     for the same, correct algorithm (https://www.openwall.com/crypt/),
//     which PHP's password_hash writes. golang.org/x/crypto/bcrypt computes
//     the three alike and reads the letter only to write it back, so no
//     prefix is rewritten (TestBcrypt2y proves it). $2$ and $2x$
//     (crypt_blowfish's buggy variant) are refused. Like those systems,
//     bcrypt uses only the first 72 bytes of a password.
//   - argon2id and argon2i: the reference implementation's PHC string
//     (https://github.com/P-H-C/phc-string-format/blob/master/phc-sf-spec.md,
//     RFC 9106) $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>,
//     salt and hash in standard base64 without padding (padding is
//     accepted). Only version 19 (0x13), no keyid or data parameters.
//     Hash writes this form.
//   - passlib's PBKDF2
//     (https://passlib.readthedocs.io/en/stable/lib/passlib.hash.pbkdf2_digest.html):
//     $pbkdf2$<iterations>$<salt>$<hash> for HMAC-SHA1, $pbkdf2-sha256$…
//     and $pbkdf2-sha512$…, salt and hash in passlib's adapted base64
//     (standard base64 with '.' for '+', no padding).
//   - Django's PBKDF2
//     (https://docs.djangoproject.com/en/stable/topics/auth/passwords/,
//     PBKDF2PasswordHasher in django/contrib/auth/hashers.py):
//     pbkdf2_sha256$<iterations>$<salt>$<hash> and pbkdf2_sha1$…; the salt
//     is literal text whose UTF-8 bytes are the PBKDF2 salt, the hash
//     standard base64 with padding.
//   - Keycloak's PBKDF2 and argon2 credentials as JSON
//     (Pbkdf2PasswordHashProvider, Argon2PasswordHashProvider,
//     PasswordCredentialData and PasswordSecretData in
//     https://github.com/keycloak/keycloak), salt and value in standard
//     base64, in either of two shapes: flat,
//     {"algorithm":"pbkdf2-sha256","hashIterations":27500,"salt":"…","value":"…"},
//     or Keycloak's own two-part one, whose credentialData and secretData
//     are JSON objects written as JSON strings,
//     {"credentialData":"{\"hashIterations\":27500,\"algorithm\":\"pbkdf2-sha256\"}","secretData":"{\"value\":\"…\",\"salt\":\"…\"}"}.
//     The algorithm is pbkdf2 (HMAC-SHA1), pbkdf2-sha256, pbkdf2-sha512, or
//     argon2 (Keycloak 24's default), whose type, version, memory,
//     parallelism and hashLength are in additionalParameters (see
//     keycloakArgon2). Other members (id, createdDate, userLabel…) are
//     ignored, but a type other than "password" is refused, and so is an
//     object mixing the two shapes.
//
// For every PBKDF2 format the derived key is as long as the stored hash
// (as Keycloak computes it), and the password is taken as its UTF-8 bytes.
func Check(encoded string) error {
	_, err := parse(encoded)
	return err
}

// NeedsRehash reports whether encoded should be replaced by Hash's output
// after a successful Verify: true unless it is argon2id with exactly h's
// memory, time, threads and key length (a malformed hash needs it too).
func (h *Hasher) NeedsRehash(encoded string) bool {
	s, err := parse(encoded)
	if err != nil || s.kind != kindArgon2id {
		return true
	}
	p := s.params
	return p.Memory != h.params.Memory || p.Time != h.params.Time ||
		p.Threads != h.params.Threads || p.KeyLen != h.params.KeyLen
}

// matches computes password's hash as s asks and compares it in constant
// time. Its error is crypto/pbkdf2's refusal (FIPS 140-only mode), never
// a malformed hash: parse has checked the bounds.
func (s stored) matches(password string) (bool, error) {
	var got []byte
	p := s.params
	switch s.kind {
	case kindBcrypt:
		// Constant-time inside: it compares the recomputed hash with subtle.
		return bcrypt.CompareHashAndPassword(s.bcrypt, []byte(password)) == nil, nil
	case kindArgon2id:
		got = argon2.IDKey([]byte(password), s.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	case kindArgon2i:
		got = argon2.Key([]byte(password), s.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	case kindPBKDF2:
		var err error
		if got, err = pbkdf2.Key(s.digest, password, s.salt, s.iter, len(s.key)); err != nil {
			return false, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return subtle.ConstantTimeCompare(got, s.key) == 1, nil
}

// parse reads encoded, choosing the format by its identifier: the field
// between the first two '$' ("2b", "argon2id", "pbkdf2-sha256"), the field
// before the first '$' (Django) or a leading '{' (Keycloak).
func parse(encoded string) (stored, error) {
	switch {
	case encoded == "":
		return stored{}, problem("empty password hash")
	case len(encoded) > maxEncodedLen:
		return stored{}, problem("password hash longer than %d bytes", maxEncodedLen)
	case encoded[0] == '{':
		return parseKeycloak(encoded)
	}
	f := strings.Split(encoded, "$")
	id := f[0]
	if id == "" && len(f) > 1 {
		id = "$" + f[1] + "$"
	}
	switch id {
	case "$2a$", "$2b$", "$2y$":
		return parseBcrypt(encoded, f)
	case "$argon2id$":
		return parseArgon2(kindArgon2id, f)
	case "$argon2i$":
		return parseArgon2(kindArgon2i, f)
	case "$pbkdf2$":
		return parsePasslib("pbkdf2", sha1.New, f)
	case "$pbkdf2-sha256$":
		return parsePasslib("pbkdf2-sha256", sha256.New, f)
	case "$pbkdf2-sha512$":
		return parsePasslib("pbkdf2-sha512", sha512.New, f)
	case "pbkdf2_sha256":
		return parseDjango("django pbkdf2_sha256", sha256.New, f)
	case "pbkdf2_sha1":
		return parseDjango("django pbkdf2_sha1", sha1.New, f)
	}
	return stored{}, problem("unknown password hash format")
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt reads f, encoded split at '$': "", "2b", cost, salt and hash.
func parseBcrypt(encoded string, f []string) (stored, error) {
	if len(encoded) != 60 || len(f) != 4 || len(f[2]) != 2 || len(f[3]) != 53 {
		return stored{}, problem("bcrypt hash is not $%s$<two-digit cost>$<53 characters>, 60 in all", f[1])
	}
	cost, ok := number(f[2])
	if !ok {
		return stored{}, problem("bcrypt cost is not a number")
	}
	if err := bounded("bcrypt cost", "", cost, bcryptMinCost, bcryptMaxCost); err != nil {
		return stored{}, err
	}
	if strings.Trim(f[3], bcryptAlphabet) != "" {
		return stored{}, problem("bcrypt salt and hash have a character outside bcrypt's base64 alphabet")
	}
	return stored{kind: kindBcrypt, name: "bcrypt", bcrypt: []byte(encoded)}, nil
}

// parseArgon2 reads f, a PHC string split at '$': "", "argon2id",
// "v=19", "m=…,t=…,p=…", salt and hash.
func parseArgon2(k kind, f []string) (stored, error) {
	name := f[1]
	if len(f) != 6 {
		return stored{}, problem("%s hash is not $%s$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>", name, name)
	}
	v, ok := strings.CutPrefix(f[2], "v=")
	version, isNumber := number(v)
	if !ok || !isNumber {
		return stored{}, problem("%s version is not v=<number>", name)
	}
	if version != argon2.Version {
		return stored{}, problem("%s version %d is not supported (only %d)", name, version, argon2.Version)
	}
	mtp := strings.Split(f[3], ",")
	if len(mtp) != 3 {
		return stored{}, problem("%s parameters are not m=<KiB>,t=<passes>,p=<lanes>", name)
	}
	var vals [3]int64
	for i, key := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(mtp[i], key)
		n, isNumber := number(s)
		if !ok || !isNumber {
			return stored{}, problem("%s parameters are not m=<KiB>,t=<passes>,p=<lanes>", name)
		}
		vals[i] = n
	}
	salt, ok := decodeBase64(f[4])
	if !ok {
		return stored{}, problem("%s salt is not base64", name)
	}
	key, ok := decodeBase64(f[5])
	if !ok {
		return stored{}, problem("%s hash is not base64", name)
	}
	return argon2Hash(k, name, vals[0], vals[1], vals[2], salt, key)
}

// argon2Hash checks what every argon2 format has: memory m (KiB), time t
// and threads p within the bounds, a salt and a hash of fitting lengths.
func argon2Hash(k kind, name string, m, t, p int64, salt, key []byte) (stored, error) {
	if err := bounded(name+" threads", "", p, 1, argon2MaxThreads); err != nil {
		return stored{}, err
	}
	if err := bounded(name+" memory", " KiB", m, 8*p, argon2MaxMemory); err != nil {
		return stored{}, err
	}
	if err := bounded(name+" time", "", t, 1, argon2MaxTime); err != nil {
		return stored{}, err
	}
	if err := bounded(name+" memory x time", " KiB", m*t, 1, argon2MaxWork); err != nil {
		return stored{}, err
	}
	if err := bounded(name+" salt", " bytes", int64(len(salt)), argon2MinSaltLen, maxEncodedLen); err != nil {
		return stored{}, err
	}
	if err := bounded(name+" hash", " bytes", int64(len(key)), minKeyLen, maxKeyLen); err != nil {
		return stored{}, err
	}
	params := Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), KeyLen: uint32(len(key))}
	return stored{kind: k, name: name, params: params, salt: salt, key: key}, nil
}

// parsePasslib reads f: "", "pbkdf2-sha256", iterations, salt and hash, the
// last two in adapted base64.
func parsePasslib(name string, digest func() hash.Hash, f []string) (stored, error) {
	if len(f) != 5 {
		return stored{}, problem("%s hash is not $%s$<iterations>$<salt>$<hash>", name, name)
	}
	iter, ok := number(f[2])
	if !ok {
		return stored{}, problem("%s iterations are not a number", name)
	}
	salt, ok := decodeBase64(strings.ReplaceAll(f[3], ".", "+"))
	if !ok {
		return stored{}, problem("%s salt is not adapted base64", name)
	}
	key, ok := decodeBase64(strings.ReplaceAll(f[4], ".", "+"))
	if !ok {
		return stored{}, problem("%s hash is not adapted base64", name)
	}
	return pbkdf2Hash(name, digest, iter, salt, key)
}

// parseDjango reads f: "pbkdf2_sha256", iterations, salt text and hash.
func parseDjango(name string, digest func() hash.Hash, f []string) (stored, error) {
	if len(f) != 4 {
		return stored{}, problem("%s hash is not %s$<iterations>$<salt>$<hash>", name, strings.TrimPrefix(name, "django "))
	}
	iter, ok := number(f[1])
	if !ok {
		return stored{}, problem("%s iterations are not a number", name)
	}
	key, ok := decodeBase64(f[3])
	if !ok {
		return stored{}, problem("%s hash is not base64", name)
	}
	return pbkdf2Hash(name, digest, iter, []byte(f[2]), key)
}

// keycloakCredential is the flat shape and, by credentialData and
// secretData, the outer object of the two-part one.
type keycloakCredential struct {
	Type                 string              `json:"type"`
	Algorithm            string              `json:"algorithm"`
	HashIterations       *int64              `json:"hashIterations"`
	AdditionalParameters map[string][]string `json:"additionalParameters"`
	Salt                 string              `json:"salt"`
	Value                string              `json:"value"`
	CredentialData       string              `json:"credentialData"`
	SecretData           string              `json:"secretData"`
}

var keycloakDigests = map[string]func() hash.Hash{
	"pbkdf2": sha1.New, "pbkdf2-sha256": sha256.New, "pbkdf2-sha512": sha512.New,
}

// parseKeycloak reads a Keycloak credential in either shape.
func parseKeycloak(encoded string) (stored, error) {
	var c keycloakCredential
	if json.Unmarshal([]byte(encoded), &c) != nil {
		return stored{}, problem("keycloak credential is not a JSON object of the expected shape")
	}
	if c.Type != "" && c.Type != "password" {
		return stored{}, problem("keycloak credential is not of type password")
	}
	if c.CredentialData != "" || c.SecretData != "" {
		if c.Algorithm != "" || c.HashIterations != nil || c.AdditionalParameters != nil || c.Salt != "" || c.Value != "" {
			return stored{}, problem("keycloak credential mixes the flat and the credentialData/secretData shapes")
		}
		var cred struct {
			Algorithm            string              `json:"algorithm"`
			HashIterations       *int64              `json:"hashIterations"`
			AdditionalParameters map[string][]string `json:"additionalParameters"`
		}
		var secret struct {
			Salt  string `json:"salt"`
			Value string `json:"value"`
		}
		if json.Unmarshal([]byte(c.CredentialData), &cred) != nil || json.Unmarshal([]byte(c.SecretData), &secret) != nil {
			return stored{}, problem("keycloak credentialData or secretData is not a JSON object of the expected shape")
		}
		c.Algorithm, c.HashIterations, c.AdditionalParameters = cred.Algorithm, cred.HashIterations, cred.AdditionalParameters
		c.Salt, c.Value = secret.Salt, secret.Value
	}
	digest, isPBKDF2 := keycloakDigests[c.Algorithm]
	if !isPBKDF2 && c.Algorithm != "argon2" {
		return stored{}, problem("keycloak credential algorithm is not pbkdf2, pbkdf2-sha256, pbkdf2-sha512 or argon2")
	}
	name := "keycloak " + c.Algorithm
	if c.HashIterations == nil {
		return stored{}, problem("%s credential has no hashIterations", name)
	}
	salt, ok := decodeBase64(c.Salt)
	if !ok {
		return stored{}, problem("%s salt is not base64", name)
	}
	key, ok := decodeBase64(c.Value)
	if !ok {
		return stored{}, problem("%s value is not base64", name)
	}
	if isPBKDF2 {
		return pbkdf2Hash(name, digest, *c.HashIterations, salt, key)
	}
	return keycloakArgon2(*c.HashIterations, c.AdditionalParameters, salt, key)
}

// keycloakArgon2 reads the parameters of Keycloak's argon2 credential
// (Argon2PasswordHashProvider, Keycloak 24 and later; its defaults: type
// "id", version "1.3", hashLength 32, memory 7168 KiB, parallelism 1,
// 5 iterations), each parameter a list of one decimal string, as Keycloak
// writes them. The hash must be as long as hashLength says.
func keycloakArgon2(iterations int64, params map[string][]string, salt, key []byte) (stored, error) {
	const name = "keycloak argon2"
	one := func(key string) (string, bool) {
		v := params[key]
		return strings.Join(v, ""), len(v) == 1
	}
	k := kindArgon2id
	switch typ, _ := one("type"); typ {
	case "id":
	case "i":
		k = kindArgon2i
	case "d":
		return stored{}, problem("%s type d (argon2d) is not supported: only id and i", name)
	default:
		return stored{}, problem("%s type is not id or i", name)
	}
	if version, _ := one("version"); version != "1.3" {
		return stored{}, problem("%s version is not 1.3 (the only one supported)", name)
	}
	var vals [3]int64
	for i, key := range []string{"memory", "parallelism", "hashLength"} {
		s, ok := one(key)
		n, isNumber := number(s)
		if !ok || !isNumber {
			return stored{}, problem("%s %s is not one number", name, key)
		}
		vals[i] = n
	}
	if vals[2] != int64(len(key)) {
		return stored{}, problem("%s value is %d bytes where hashLength says %d", name, len(key), vals[2])
	}
	return argon2Hash(k, name, vals[0], iterations, vals[1], salt, key)
}

// pbkdf2Hash checks what every PBKDF2 format has: iterations within the
// bounds (times the hash's blocks: see pbkdf2MaxIterations), a salt and a
// hash of minKeyLen to maxKeyLen bytes.
func pbkdf2Hash(name string, digest func() hash.Hash, iter int64, salt, key []byte) (stored, error) {
	size := digest().Size()
	maxIterations := int64(pbkdf2MaxIterations)
	if size == sha512.Size {
		maxIterations = pbkdf2SHA512MaxIterations
	}
	if err := bounded(name+" iterations", "", iter, 1, maxIterations); err != nil {
		return stored{}, err
	}
	if len(salt) == 0 {
		return stored{}, problem("%s salt is empty", name)
	}
	if err := bounded(name+" hash", " bytes", int64(len(key)), minKeyLen, maxKeyLen); err != nil {
		return stored{}, err
	}
	if blocks := int64((len(key) + size - 1) / size); iter*blocks > maxIterations {
		return stored{}, problem("%s iterations x blocks %d (%d x %d blocks of a %d-byte hash) above the limit %d",
			name, iter*blocks, iter, blocks, len(key), maxIterations)
	}
	return stored{kind: kindPBKDF2, name: name, iter: int(iter), digest: digest, salt: salt, key: key}, nil
}

// number reads a decimal field: digits only, below 2^32.
func number(s string) (int64, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return int64(n), err == nil
}

// decodeBase64 reads standard base64 with or without its '=' padding.
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// bounded returns a problem when v is outside lo..hi: "what v unit below lo"
// or "what v unit above the limit hi".
func bounded(what, unit string, v, lo, hi int64) error {
	switch {
	case v < lo:
		return problem("%s %d%s below %d%s", what, v, unit, lo, unit)
	case v > hi:
		return problem("%s %d%s above the limit %d%s", what, v, unit, hi, unit)
	}
	return nil
}
