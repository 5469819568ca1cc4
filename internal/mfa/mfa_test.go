package mfa

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// rfcSecret is RFC 6238 Appendix B's SHA-1 key, the ASCII "12345678901234567890".
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// The URI carries what every app needs, the secret is 20 random bytes in
// base32 without padding, and the QR code is a 256x256 PNG.
func TestEnroll(t *testing.T) {
	e, err := Enroll("IoT Console", "ops.ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(e.URI)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/") || key.Type() != "totp" {
		t.Errorf("URI %q: want otpauth://totp/...", e.URI)
	}
	if key.Issuer() != "IoT Console" || key.AccountName() != "ops.ada@example.com" {
		t.Errorf("issuer %q, account %q", key.Issuer(), key.AccountName())
	}
	if key.Algorithm() != otp.AlgorithmSHA1 || key.Digits() != otp.DigitsSix || key.Period() != 30 {
		t.Errorf("algorithm %v, digits %v, period %d: want SHA1, 6, 30", key.Algorithm(), key.Digits(), key.Period())
	}
	if key.Secret() != e.Secret {
		t.Errorf("URI secret differs from Secret")
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) != 20 || strings.Contains(e.Secret, "=") {
		t.Errorf("secret of %d characters decodes to %d bytes (%v): want 20 bytes, no padding", len(e.Secret), len(raw), err)
	}

	img, err := png.Decode(bytes.NewReader(e.QRCodePNG))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Errorf("QR code %dx%d, want 256x256", b.Dx(), b.Dy())
	}
	url := QRCodeDataURL(e.QRCodePNG)
	b64, found := strings.CutPrefix(url, "data:image/png;base64,")
	if got, err := base64.StdEncoding.DecodeString(b64); !found || err != nil || !bytes.Equal(got, e.QRCodePNG) {
		t.Errorf("data URL does not hold the PNG: prefix %v, %v", found, err)
	}

	code := codeAt(t, e.Secret, time.Now())
	if _, err := Verify(e.Secret, code, time.Now(), 0); err != nil {
		t.Errorf("a code of the enrolled secret: %v", err)
	}
	if again, _ := Enroll("IoT Console", "ops.ada@example.com"); again.Secret == e.Secret {
		t.Error("two enrollments, one secret")
	}
	for _, bad := range [][2]string{{"", "ops@example.com"}, {"IoT Console", ""}, {"IoT:Console", "ops@example.com"}, {"IoT Console", "a:b@example.com"}} {
		if _, err := Enroll(bad[0], bad[1]); err == nil {
			t.Errorf("Enroll(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// RFC 6238 Appendix B, SHA-1, the last 6 of its 8 digits: 59 s gives
// 94287082, 1111111109 s gives 07081804, 1234567890 s gives 89005924.
func TestVerifyRFC6238Vectors(t *testing.T) {
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}} {
		step, err := Verify(rfcSecret, v.code, time.Unix(v.unix, 0), 0)
		if err != nil || step != v.unix/30 {
			t.Errorf("T=%d: step %d, %v; want %d", v.unix, step, err, v.unix/30)
		}
	}
}

// A code is good in its own step and one step either side, not two.
func TestVerifyWindow(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)
	code := codeAt(t, rfcSecret, at)
	want := at.Unix() / 30
	for _, d := range []time.Duration{0, 30 * time.Second, -30 * time.Second, 19 * time.Second, -40 * time.Second} {
		step, err := Verify(rfcSecret, code, at.Add(d), 0)
		if err != nil || step != want {
			t.Errorf("%v later: step %d, %v; want %d", d, step, err, want)
		}
	}
	for _, d := range []time.Duration{60 * time.Second, -60 * time.Second, 90 * time.Second, -90 * time.Second, time.Hour} {
		if step, err := Verify(rfcSecret, code, at.Add(d), 0); !errors.Is(err, ErrInvalidCode) || step != 0 {
			t.Errorf("%v later: step %d, %v; want ErrInvalidCode", d, step, err)
		}
	}
}

// The step returned, passed back as lastUsedStep, refuses the same code and
// older ones with ErrCodeReused and lets the next step's code through.
func TestVerifyReuse(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)
	code := codeAt(t, rfcSecret, at)
	step, err := Verify(rfcSecret, code, at, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(rfcSecret, code, at, step); !errors.Is(err, ErrCodeReused) {
		t.Errorf("same code, same step: %v, want ErrCodeReused", err)
	}
	if _, err := Verify(rfcSecret, code, at.Add(30*time.Second), step); !errors.Is(err, ErrCodeReused) {
		t.Errorf("same code, next step: %v, want ErrCodeReused", err)
	}
	if _, err := Verify(rfcSecret, code, at, step+1); !errors.Is(err, ErrCodeReused) {
		t.Errorf("a later step used: %v, want ErrCodeReused", err)
	}
	if got, err := Verify(rfcSecret, code, at, step-1); err != nil || got != step {
		t.Errorf("an earlier step used: %d, %v; want %d", got, err, step)
	}
	next := at.Add(30 * time.Second)
	if got, err := Verify(rfcSecret, codeAt(t, rfcSecret, next), next, step); err != nil || got != step+1 {
		t.Errorf("next step's code: %d, %v; want %d", got, err, step+1)
	}
	// The previous step's code, typed late, after the current one was used.
	prev := codeAt(t, rfcSecret, at.Add(-30*time.Second))
	if _, err := Verify(rfcSecret, prev, at, step); !errors.Is(err, ErrCodeReused) {
		t.Errorf("older code after a newer one: %v, want ErrCodeReused", err)
	}
}

// White space is ignored; anything but 6 ASCII digits is ErrInvalidCode; a
// secret that is not base32 of at least 16 bytes is ErrMalformedSecret; no
// error quotes the code or the secret.
func TestVerifyInput(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)
	code := codeAt(t, rfcSecret, at)
	for _, typed := range []string{code[:3] + " " + code[3:], " " + code + "\n", code[:3] + "\t" + code[3:], strings.Join(strings.Split(code, ""), " ")} {
		if _, err := Verify(rfcSecret, typed, at, 0); err != nil {
			t.Errorf("%q: %v", typed, err)
		}
	}
	var errs []error
	for _, typed := range []string{code[:5], code + "0", "abcdef", code[:5] + "a", "", "１２３４５６", code[:3] + "-" + code[3:]} {
		_, err := Verify(rfcSecret, typed, at, 0)
		if !errors.Is(err, ErrInvalidCode) {
			t.Errorf("%q: %v, want ErrInvalidCode", typed, err)
		}
		errs = append(errs, err)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if _, err := Verify(rfcSecret, wrong, at, 0); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("wrong code: %v, want ErrInvalidCode", err)
	}
	for _, secret := range []string{"", "not base32!", rfcSecret[:8], strings.Repeat("A", 25)} {
		_, err := Verify(secret, code, at, 0)
		if !errors.Is(err, ErrMalformedSecret) {
			t.Errorf("secret %q: %v, want ErrMalformedSecret", secret, err)
		}
		errs = append(errs, err)
	}
	_, err := Verify(rfcSecret, code, at, at.Unix()/30)
	errs = append(errs, err)
	// The library accepts what people paste: lower case, padding.
	if _, err := Verify(strings.ToLower(rfcSecret)+"====", code, at, 0); err != nil {
		t.Errorf("lower-case padded secret: %v", err)
	}
	for _, err := range errs {
		if msg := err.Error(); strings.Contains(msg, code) || strings.Contains(msg, rfcSecret[:8]) {
			t.Errorf("error %q quotes the code or the secret", msg)
		}
	}
}

var recoveryShape = regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`)

// Ten distinct codes of the documented shape, each with its hash in the same
// order.
func TestNewRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes, %d hashes; want 10 of each", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !recoveryShape.MatchString(c) {
			t.Errorf("code %q: want xxxxx-xxxxx of a-z, 2-7", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if hashes[i] != hashRecoveryCode(strings.ReplaceAll(c, "-", "")) || len(hashes[i]) != 64 {
			t.Errorf("hash %d is not the hex SHA-256 of code %d without its dash", i, i)
		}
		if !LooksLikeRecoveryCode(c) {
			t.Errorf("LooksLikeRecoveryCode(%q) = false", c)
		}
	}
	other, _, _ := NewRecoveryCodes()
	if slices.Equal(codes, other) {
		t.Error("two calls, the same codes")
	}
}

// Each code works once, in any order, however it is typed; a wrong code
// changes nothing; the slice passed in is left alone.
func TestUseRecoveryCode(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	stored := slices.Clone(hashes)

	wrong := "aaaaa-aaaaa"
	if slices.Contains(codes, wrong) {
		wrong = "bbbbb-bbbbb"
	}
	if got, ok := UseRecoveryCode(stored, wrong); ok || !slices.Equal(got, hashes) {
		t.Errorf("wrong code: ok %v, %d left", ok, len(got))
	}
	if _, ok := UseRecoveryCode(stored, ""); ok {
		t.Error("empty code accepted")
	}

	// "abcde-fghij" typed as " ABC DEFG-HIJ ".
	typed := func(c string) string {
		c = strings.ToUpper(strings.ReplaceAll(c, "-", ""))
		return " " + c[:3] + " " + c[3:7] + "-" + c[7:] + " "
	}
	for i := len(codes) - 1; i >= 0; i-- {
		c := codes[i]
		if i%2 == 0 {
			c = typed(c)
		}
		before := slices.Clone(stored)
		left, ok := UseRecoveryCode(stored, c)
		if !ok || len(left) != len(stored)-1 || slices.Contains(left, hashes[i]) {
			t.Fatalf("code %d (%q): ok %v, %d of %d left", i, c, ok, len(left), len(stored))
		}
		if !slices.Equal(stored, before) {
			t.Fatal("UseRecoveryCode changed the slice passed in")
		}
		if _, ok := UseRecoveryCode(left, c); ok {
			t.Errorf("code %d accepted twice", i)
		}
		stored = left
	}
	if len(stored) != 0 {
		t.Errorf("%d hashes left after using every code", len(stored))
	}
}

// A form with one field can tell a recovery code from a TOTP code.
func TestLooksLikeRecoveryCode(t *testing.T) {
	for code, want := range map[string]bool{
		"abcde-fgh23":   true,
		"ABCDEFGH23":    true,
		" abc de-fgh23": true,
		"123456":        false,
		"123 456":       false,
		"":              false,
		"abcde-fgh2":    false, // 9 characters
		"abcde-fgh234a": false, // 11
		"abcde-fgh01":   false, // 0 and 1 are not in the alphabet
		"1234567890":    false,
	} {
		if got := LooksLikeRecoveryCode(code); got != want {
			t.Errorf("LooksLikeRecoveryCode(%q) = %v, want %v", code, got, want)
		}
	}
}
