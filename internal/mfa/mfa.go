// Package mfa is the second factor of operators (support staff): time-based
// one-time passwords (TOTP, RFC 6238) from an authenticator app, and
// single-use recovery codes for when the app is lost. It stores nothing and
// serves nothing: the caller keeps an operator's secret, last used step and
// recovery-code hashes, and throttles attempts.
package mfa

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image/png"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: HMAC-SHA-1, 6 digits, 30-second steps and a 20-byte
// (160-bit) secret. They are RFC 6238's defaults (section 4: X = 30 s,
// recommended in section 5.2) over RFC 4226's HOTP (SHA-1; 6 digits, the
// minimum of section 5.3; a 160-bit secret, recommended in section 4), and
// the only set that every authenticator app supports: Google Authenticator,
// for one, has ignored the URI's algorithm, digits and period and used these.
const (
	period     = 30 // seconds
	digits     = otp.DigitsSix
	secretSize = 20 // bytes
	// skew is how many steps either side of the current one Verify accepts:
	// one back for a code typed near the end of its step (RFC 6238 section
	// 5.2 recommends allowing at most one step of delay) and one forward for
	// a phone clock that runs ahead (section 6 allows drift either way).
	skew = 1
	// minSecretSize is RFC 4226 section 4's requirement R6: the shared
	// secret MUST be at least 128 bits.
	minSecretSize = 16 // bytes
	qrSize        = 256
)

var hotpOpts = hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1}

// Verify's errors. Their texts never quote the code or the secret.
var (
	// ErrInvalidCode means the code is not the one of the step of the given
	// time or of a step either side: wrong, malformed (not 6 digits once
	// spaces are removed) or too old.
	ErrInvalidCode = errors.New("invalid authentication code")
	// ErrCodeReused means the code is right but its step is not after the
	// last step used: a code is good once (RFC 6238 section 5.2).
	ErrCodeReused = errors.New("authentication code already used")
	// ErrMalformedSecret means the stored secret is not base32 or is shorter
	// than 128 bits: a fault of the stored data, not of what the operator
	// typed.
	ErrMalformedSecret = errors.New("malformed TOTP secret")
)

// Enrollment is a new TOTP secret and the two ways of giving it to an
// authenticator app. All three fields carry the secret: show them to the
// operator once, over the enrollment page only, and never log them.
type Enrollment struct {
	Secret    string // base32 (RFC 4648), upper case, no padding: 32 characters, to type in by hand
	URI       string // otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30 (Google's Key URI Format)
	QRCodePNG []byte // URI as a QR code (error correction M), a 256x256 PNG; the margin is only what is left after whole-pixel modules, so show it on a light background
}

// Enroll returns a new random secret for accountName (an operator's email,
// say) at issuer (the product name the app shows). Neither may be empty or
// contain a colon, which the Key URI Format forbids in both. The caller
// stores Secret once the operator has typed a first code that Verify
// accepts.
func Enroll(issuer, accountName string) (Enrollment, error) {
	if strings.Contains(issuer, ":") || strings.Contains(accountName, ":") {
		return Enrollment{}, errors.New("TOTP issuer and account name must not contain a colon")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: accountName,
		Period:      period,
		SecretSize:  secretSize,
		Digits:      digits,
		Algorithm:   otp.AlgorithmSHA1,
	}) // secret from crypto/rand
	if err != nil {
		return Enrollment{}, err // empty issuer or account name
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return Enrollment{}, err // a URI too long for a QR code of that size
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrollment{}, err
	}
	return Enrollment{Secret: key.Secret(), URI: key.String(), QRCodePNG: buf.Bytes()}, nil
}

// QRCodeDataURL returns png as a data URL (RFC 2397),
// "data:image/png;base64,...", for an <img src>.
func QRCodeDataURL(png []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

// Verify checks code, typed by the operator, against secret at time at. It
// accepts the code of at's step (Unix seconds / 30) or of one step either
// side, ignoring white space in code, and returns the step it matched; the
// caller stores that step and passes it as lastUsedStep next time (0 before
// the first use), so that each code is good once (RFC 6238 section 5.2). A
// code matching only steps <= lastUsedStep gives ErrCodeReused. Codes are
// computed with pquerna/otp and compared in constant time; all three steps
// are computed and compared whatever the input.
//
// Errors: ErrInvalidCode, ErrCodeReused, or ErrMalformedSecret for a secret
// that is not base32 of at least 16 bytes; step is 0 with any error. Verify
// does not throttle: a guess succeeds with a chance of about 3 in 10^6, so
// the caller must limit failed attempts (RFC 4226 section 7.3).
func Verify(secret, code string, at time.Time, lastUsedStep int64) (step int64, err error) {
	secret, err = normalizeSecret(secret)
	if err != nil {
		return 0, err
	}
	code = strings.Join(strings.Fields(code), "")
	if !isDigits(code, digits.Length()) {
		return 0, ErrInvalidCode
	}
	now := at.Unix() / period
	found, reused := false, false
	for s := now - skew; s <= now+skew; s++ {
		if s < 0 {
			continue // before 1970
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotpOpts) // TOTP is HOTP of the step (RFC 6238 section 4)
		if err != nil {
			return 0, ErrMalformedSecret
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if s <= lastUsedStep {
			reused = true
		} else if !found {
			found, step = true, s // the earliest unused step that matches
		}
	}
	switch {
	case found:
		return step, nil
	case reused:
		return 0, ErrCodeReused
	default:
		return 0, ErrInvalidCode
	}
}

// normalizeSecret returns secret in upper case without padding, or
// ErrMalformedSecret if it is not base32 of at least minSecretSize bytes. An
// empty or short secret must not pass: HMAC takes any key, even none.
func normalizeSecret(secret string) (string, error) {
	secret = strings.TrimRight(strings.ToUpper(strings.TrimSpace(secret)), "=")
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(key) < minSecretSize {
		return "", ErrMalformedSecret
	}
	return secret, nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Recovery codes: 10 per operator, the count most services hand out, each 10
// characters of lower-case base32 (RFC 4648's alphabet: a-z and 2-7, so no
// 0, 1, 8 or 9 to mistake for o, l, i or b), 50 random bits, shown as
// "xxxxx-xxxxx".
const (
	RecoveryCodeCount = 10
	recoveryCodeLen   = 10 // characters, 5 bits each
	recoveryAlphabet  = "abcdefghijklmnopqrstuvwxyz234567"
)

// NewRecoveryCodes returns RecoveryCodeCount new distinct recovery codes, as
// the operator is to see them ("xxxxx-xxxxx"), and their hashes in the same
// order, the only form to store: hex SHA-256 of the code in lower case
// without the dash.
//
// A fast hash, unlike passwords' argon2id, because each code is 50 bits from
// crypto/rand, not something a person chose: there is no dictionary to try
// first, and online guessing, the attack that matters while the hashes stay
// secret, is bounded by throttling, not by the hash. The bound that remains:
// whoever reads the hashes can try all 2^50 codes with SHA-256 within a day
// on one GPU, less per code found when many hashes are attacked at once. That
// is acceptable only while the hashes sit next to the TOTP secrets, which a
// reader of the store has in the clear anyway; if those secrets are ever
// encrypted with a key kept outside the store, key these hashes too (HMAC)
// or lengthen the codes. OWASP's Multifactor Authentication Cheat Sheet
// ("Resetting MFA") lists single-use recovery codes given at setup as a way
// back in; the hashing choice is ours.
//
// err is always nil today: crypto/rand.Read does not fail (since Go 1.24).
func NewRecoveryCodes() (codes []string, hashes []string, err error) {
	seen := make(map[string]bool, RecoveryCodeCount)
	for len(codes) < RecoveryCodeCount {
		var b [recoveryCodeLen]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, err
		}
		var code [recoveryCodeLen]byte
		for i, v := range b {
			code[i] = recoveryAlphabet[v&31] // 256 is a multiple of 32: uniform
		}
		c := string(code[:])
		if seen[c] {
			continue // a 2^-50 chance, but the codes must be distinct
		}
		seen[c] = true
		codes = append(codes, c[:5]+"-"+c[5:])
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes, nil
}

// UseRecoveryCode reports whether code, as the operator typed it (any case,
// spaces and dashes anywhere), is one of the codes whose hashes are given,
// and returns the hashes without the one used, for the caller to store in
// place of hashes (atomically with the check, or two requests could spend the
// same code). It compares code's hash with every stored hash in constant
// time, with no early exit. hashes itself is not modified; when ok is false
// remaining is hashes.
func UseRecoveryCode(hashes []string, code string) (remaining []string, ok bool) {
	h := []byte(hashRecoveryCode(normalizeRecoveryCode(code)))
	used := -1
	for i, stored := range hashes {
		if subtle.ConstantTimeCompare([]byte(stored), h) == 1 && used < 0 {
			used = i
		}
	}
	if used < 0 {
		return hashes, false
	}
	remaining = make([]string, 0, len(hashes)-1)
	remaining = append(remaining, hashes[:used]...)
	return append(remaining, hashes[used+1:]...), true
}

// LooksLikeRecoveryCode reports whether code, normalized as UseRecoveryCode
// does, has the shape of a recovery code (10 characters of the alphabet),
// so that a login form with one field can tell it from a 6-digit TOTP code.
func LooksLikeRecoveryCode(code string) bool {
	c := normalizeRecoveryCode(code)
	if len(c) != recoveryCodeLen {
		return false
	}
	for i := range len(c) {
		if strings.IndexByte(recoveryAlphabet, c[i]) < 0 {
			return false
		}
	}
	return true
}

// normalizeRecoveryCode lower-cases code and drops white space and dashes.
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
}

func hashRecoveryCode(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:])
}
