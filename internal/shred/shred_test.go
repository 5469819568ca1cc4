package shred

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestSealAndOpen(t *testing.T) {
	key := NewKey()
	for _, plain := range []string{"", "ada@example.com", "+1 (555) 010-0199", "Zoë Łukasz 山田", strings.Repeat("x", 4000)} {
		sealed, err := Seal(key, "cust-1", plain)
		if err != nil {
			t.Fatal(err)
		}
		if !IsSealed(sealed) || strings.Contains(sealed, plain) && plain != "" {
			t.Fatalf("sealed %q as %q", plain, sealed)
		}
		if i := strings.IndexFunc(sealed, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }); i >= 0 {
			t.Fatalf("sealed value is not printable ASCII: %q", sealed)
		}
		got, err := Open(key, "cust-1", sealed)
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
	// A random nonce: the same value sealed twice reads differently.
	a, _ := Seal(key, "cust-1", "same")
	b, _ := Seal(key, "cust-1", "same")
	if a == b {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
}

func TestOpenRefuses(t *testing.T) {
	key := NewKey()
	sealed, _ := Seal(key, "cust-1", "ada@example.com")
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 'A' ^ 'B'
	if tampered[len(tampered)-3] == sealed[len(sealed)-3] {
		tampered[len(tampered)-3] = 'C'
	}
	tests := []struct {
		name   string
		key    []byte
		who    string
		sealed string
		want   error
	}{
		{"the key deleted", nil, "cust-1", sealed, ErrErased},
		{"a new key since", NewKey(), "cust-1", sealed, ErrErased},
		{"another customer's record", key, "cust-2", sealed, ErrMalformed},
		{"altered", key, "cust-1", string(tampered), ErrMalformed},
		{"cut short", key, "cust-1", sealed[:len(Prefix)+10], ErrMalformed},
		{"not sealed", key, "cust-1", "ada@example.com", ErrMalformed},
		{"not base64", key, "cust-1", Prefix + "!!!", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.key, tt.who, tt.sealed)
			if !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := Seal([]byte("short"), "cust-1", "x"); err == nil {
		t.Fatal("Seal accepted a 5-byte key")
	}
}
