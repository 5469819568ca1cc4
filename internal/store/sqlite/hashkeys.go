package sqlite

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// The customers table keeps a password hash in the PHC string format that
// passwords.Encode writes ("$argon2id$v=19$m=19456,t=2,p=1$" then the salt
// and the key in unpadded base64: 97 characters) as a BLOB of its numbers
// and raw bytes (56 bytes), and any other hash (bcrypt, PBKDF2, Keycloak's,
// an argon2id string written another way) as its text (migration 22): 41
// bytes a customer less (docs/BENCHMARKS.md, "Nineteenth round"). The BLOB
// gives the very string back (hashText), so comparing hashes in SQL, as
// RehashPassword does, compares the same values. Every hash bound to or
// read from customers.password_hash goes through hashKey and hashScan.

// argon2idBlob is the first byte of a compacted hash: the format, so that
// another can follow.
const argon2idBlob = 1

// hashKey returns hash as the customers table keeps it, to bind.
func hashKey(hash string) any {
	b, ok := compactArgon2id(hash)
	if !ok {
		return hash
	}
	return b
}

// compactArgon2id returns the BLOB of an argon2id PHC string, and false
// for anything whose BLOB would not give the same string back (numbers with
// a sign or leading zeros, base64 that is padded, of another alphabet or
// with bits left over). It runs for every customer an import writes: no
// fmt, one allocation.
func compactArgon2id(hash string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(hash, "$argon2id$v=")
	if !ok {
		return nil, false
	}
	var n [4]uint64 // v, m, t, p
	for i, sep := range [...]string{"$m=", ",t=", ",p=", "$"} {
		var field string
		if field, rest, ok = strings.Cut(rest, sep); !ok || field == "" || len(field) > 1 && field[0] == '0' {
			return nil, false
		}
		v, err := strconv.ParseUint(field, 10, 32)
		if err != nil {
			return nil, false
		}
		n[i] = v
	}
	salt, key, ok := strings.Cut(rest, "$")
	b64 := base64.RawStdEncoding.Strict()
	saltLen, keyLen := b64.DecodedLen(len(salt)), b64.DecodedLen(len(key))
	if !ok || saltLen > 255 || b64.EncodedLen(saltLen) != len(salt) || b64.EncodedLen(keyLen) != len(key) {
		return nil, false
	}
	b := make([]byte, 0, 1+4*binary.MaxVarintLen32+1+saltLen+keyLen)
	b = append(b, argon2idBlob)
	for _, v := range n {
		b = binary.AppendUvarint(b, v)
	}
	b = append(b, byte(saltLen))
	b, err := b64.AppendDecode(b, []byte(salt))
	if err != nil {
		return nil, false
	}
	if b, err = b64.AppendDecode(b, []byte(key)); err != nil {
		return nil, false
	}
	return b, true
}

// hashText returns the PHC string of a compacted hash.
func hashText(b []byte) (string, error) {
	r := bytes.NewReader(b)
	if kind, err := r.ReadByte(); err != nil || kind != argon2idBlob {
		return "", fmt.Errorf("stored password hash: unknown format %v", b[:min(len(b), 1)])
	}
	var n [4]uint64
	for i := range n {
		var err error
		if n[i], err = binary.ReadUvarint(r); err != nil {
			return "", fmt.Errorf("stored password hash: %w", err)
		}
	}
	saltLen, err := r.ReadByte()
	if err != nil || int(saltLen) > r.Len() {
		return "", fmt.Errorf("stored password hash: truncated")
	}
	rest := b[len(b)-r.Len():]
	b64 := base64.RawStdEncoding
	return "$argon2id$v=" + strconv.FormatUint(n[0], 10) + "$m=" + strconv.FormatUint(n[1], 10) + ",t=" + strconv.FormatUint(n[2], 10) +
		",p=" + strconv.FormatUint(n[3], 10) + "$" + b64.EncodeToString(rest[:saltLen]) + "$" + b64.EncodeToString(rest[saltLen:]), nil
}

// hashScan returns a sql.Scanner that reads a hash the customers table
// keeps into dest as its text.
func hashScan(dest *string) sql.Scanner { return storedHash{dest} }

type storedHash struct{ dest *string }

func (s storedHash) Scan(v any) error {
	switch v := v.(type) {
	case []byte:
		text, err := hashText(v)
		if err != nil {
			return err
		}
		*s.dest = text
	case string:
		*s.dest = v
	default:
		return fmt.Errorf("stored password hash: %T, not a BLOB or text", v)
	}
	return nil
}

// compact_password_hash(text) is hashKey in SQL, for migration 22, which
// compacts the hashes stored before it.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("compact_password_hash", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		hash, ok := args[0].(string)
		if !ok {
			return args[0], nil
		}
		return hashKey(hash), nil
	})
	if err != nil {
		panic(err)
	}
}
