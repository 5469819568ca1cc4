// Package shred seals short personal values under a per-customer data key, so
// that deleting the key erases every copy of them at once, wherever they were
// written (crypto-shredding): audit records, which nothing may change or
// delete, can still carry personal data that must be erasable.
//
// A sealed value is printable text, "enc:v1:" followed by the unpadded
// URL-safe base64 of the key's fingerprint (4 bytes), a random 96-bit nonce
// and the AES-256-GCM ciphertext with its tag. The customer's id is the
// additional authenticated data, so a value copied into another customer's
// record does not open there.
package shred

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a customer's data key in bytes (AES-256).
const KeySize = 32

// Prefix starts every sealed value; the version says how the rest is made.
const Prefix = "enc:v1:"

// Erased is what shows in place of a value whose key is gone.
const Erased = "[erased]"

const fingerprintSize = 4

var (
	// ErrErased means the key a value was sealed under no longer exists: the
	// value is gone for good.
	ErrErased = errors.New("erased: the customer's data key is gone")
	// ErrMalformed means the text is not a value Seal made, or was altered.
	ErrMalformed = errors.New("not a sealed value, or altered")
)

// NewKey returns a new random data key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never returns an error
	return key
}

// Seal returns plaintext sealed under key for customerID. It returns an
// error only for a key that is not KeySize bytes.
func Seal(key []byte, customerID, plaintext string) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	out := make([]byte, 0, fingerprintSize+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, fingerprint(key)...)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, []byte(plaintext), additionalData(customerID))
	return Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the plaintext of sealed, which Seal made under key for
// customerID. It returns ErrErased when key is nil (the customer's key was
// deleted) or is not the key the value was sealed under (the key was
// deleted, and the customer has a new one since), and ErrMalformed for text
// Seal did not make, or made for another customer, or that was altered.
func Open(key []byte, customerID, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return "", ErrMalformed
	}
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", ErrMalformed
	}
	if key == nil {
		return "", ErrErased
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	if len(data) < fingerprintSize+aead.NonceSize()+aead.Overhead() {
		return "", ErrMalformed
	}
	if !bytes.Equal(data[:fingerprintSize], fingerprint(key)) {
		return "", ErrErased
	}
	data = data[fingerprintSize:]
	plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], additionalData(customerID))
	if err != nil {
		return "", ErrMalformed
	}
	return string(plain), nil
}

// IsSealed reports whether s looks like a value Seal made.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("shred: a data key has %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// fingerprint names a key without revealing it, so that Open tells a value
// of an erased key (ErrErased) from an altered one (ErrMalformed).
func fingerprint(key []byte) []byte {
	sum := sha256.Sum256(append([]byte("shred key fingerprint\x00"), key...))
	return sum[:fingerprintSize]
}

func additionalData(customerID string) []byte { return []byte("customer\x00" + customerID) }
