package operators

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/passwords"
)

// memStore is an honest in-memory store of what Create and Get use; the
// team operations (team.go) are tested on both real stores
// (server/operators_test.go), so the methods they alone use are left to
// the embedded nil Store.
type memStore struct {
	Store
	ops     []Operator
	records []audit.Record
}

func (m *memStore) AppendAudit(_ context.Context, r audit.Record) error {
	m.records = append(m.records, r)
	return nil
}

func (m *memStore) CreateOperator(_ context.Context, o Operator) error {
	for _, x := range m.ops {
		if x.DomainID == o.DomainID && x.Email == o.Email {
			return apperr.ErrConflict
		}
	}
	m.ops = append(m.ops, o)
	return nil
}

// DomainByID answers every id with the domain Acme Heating (slug acme).
func (m *memStore) DomainByID(_ context.Context, id string) (domains.Domain, error) {
	return domains.Domain{ID: id, Slug: "acme", Name: "Acme Heating"}, nil
}

func (m *memStore) OperatorByEmail(_ context.Context, domainID, email string) (Operator, error) {
	for _, o := range m.ops {
		if o.DomainID == domainID && o.Email == email {
			return o, nil
		}
	}
	return Operator{}, apperr.ErrNotFound
}

func (m *memStore) OperatorByID(_ context.Context, id string) (Operator, error) {
	for _, o := range m.ops {
		if o.ID == id {
			return o, nil
		}
	}
	return Operator{}, apperr.ErrNotFound
}

func (m *memStore) OperatorsByIDs(_ context.Context, ids []string) ([]Operator, error) {
	var out []Operator
	for _, o := range m.ops {
		if slices.Contains(ids, o.ID) {
			out = append(out, o)
		}
	}
	return out, nil
}

// commandLine is who creates operators from the command line.
var commandLine = audit.Actor{Type: audit.ActorSystem, ID: "create-operator"}

// cheap keeps hashing fast in tests; the parameters are not what is tested.
var cheap = passwords.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestCreateAppliesTheRules(t *testing.T) {
	policy, _ := passwords.NewPolicy(12)
	ok := Draft{DomainID: "d1", Name: "Alex Admin", Email: "alex@acme.example", Role: RoleAdmin, Password: "tulip-lantern-orbit-42"}
	for _, tt := range []struct {
		name        string
		edit        func(*Draft)
		field, code string
	}{
		{"common password", func(d *Draft) { d.Password = "123qweasdzxc" }, "password", "COMMON_PASSWORD"},
		{"password is the email", func(d *Draft) { d.Password = "Alex@Acme.example" }, "password", "MATCHES_ACCOUNT"},
		{"password is the local part", func(d *Draft) { d.Email, d.Password = "alexandra.admin@acme.example", "alexandra.admin" }, "password", "MATCHES_ACCOUNT"},
		{"password is the name", func(d *Draft) { d.Name, d.Password = "Alexandra Admin", "alexandra admin" }, "password", "MATCHES_ACCOUNT"},
		{"password is the name without spaces", func(d *Draft) { d.Name, d.Password = "Alexandra Admin", "AlexandraAdmin" }, "password", "MATCHES_ACCOUNT"},
		{"short password", func(d *Draft) { d.Password = "short" }, "password", "TOO_SHORT"},
		{"password of spaces", func(d *Draft) { d.Password = "              " }, "password", "WHITESPACE_ONLY"},
		{"repetitive password", func(d *Draft) { d.Password = "aaaaaaaaaaaa" }, "password", "REPETITIVE"},
		{"sequential password", func(d *Draft) { d.Password = "abcdefghijklmn" }, "password", "SEQUENTIAL"},
		{"password built on the domain's name", func(d *Draft) { d.Password = "AcmeHeating-2024" }, "password", "CONTEXT_WORD"},
		{"password built on the name", func(d *Draft) { d.Password = "alex.admin.1990" }, "password", "CONTEXT_WORD"},
		{"guessable password", func(d *Draft) { d.Password = "Jennifer2024!" }, "password", "TOO_GUESSABLE"},
		{"not an email", func(d *Draft) { d.Email = "not-an-email" }, "email", "INVALID"},
		{"email with a display name", func(d *Draft) { d.Email = "Alex <alex@acme.example>" }, "email", "INVALID"},
		{"email without a dot in the domain", func(d *Draft) { d.Email = "alex@localhost" }, "email", "INVALID"},
		{"bidi override in the name", func(d *Draft) { d.Name = "Alex \u202enimdA" }, "name", "INVALID"},
		{"isolate in the name", func(d *Draft) { d.Name = "\u2066Alex\u2069" }, "name", "INVALID"},
		{"NUL in the name", func(d *Draft) { d.Name = "Alex\x00Admin" }, "name", "INVALID"},
		{"newline in the name", func(d *Draft) { d.Name = "Alex\nAdmin" }, "name", "INVALID"},
		{"blank name", func(d *Draft) { d.Name = "  " }, "name", "REQUIRED"},
		{"unknown role", func(d *Draft) { d.Role = "ROOT" }, "role", "INVALID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &memStore{}
			d := ok
			tt.edit(&d)
			_, err := NewService(st, nil, passwords.Policy{}, time.Now).Create(context.Background(), commandLine, d, policy, cheap, time.Now())
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || ve.Code != tt.code {
				t.Fatalf("Create(%+v) = %v, want %s on %s", d, err, tt.code, tt.field)
			}
			if len(st.ops) != 0 || len(st.records) != 0 {
				t.Fatalf("a refused operator was stored: %+v %+v", st.ops, st.records)
			}
		})
	}

	st := &memStore{}
	d := ok
	d.Name, d.Email = " Rene\u0301e Admin ", " Renee@ACME.example "
	o, err := NewService(st, nil, passwords.Policy{}, time.Now).Create(context.Background(), commandLine, d, policy, cheap, time.Now())
	if err != nil || o.Name != "Ren\u00e9e Admin" || o.Email != "renee@acme.example" || o.Status != StatusActive || len(st.ops) != 1 {
		t.Fatalf("Create(%+v) = %+v, %v; want the NFC name and the lower-case email stored", d, o, err)
	}
	if len(st.records) != 1 || st.records[0].Action != audit.ActionUserCreated || st.records[0].TargetID != o.ID ||
		st.records[0].ActorType != audit.ActorSystem || st.records[0].DomainID != "d1" {
		t.Fatalf("the creation's audit records: %+v", st.records)
	}
	if ok, err := passwords.NewHasher(cheap, 1, time.Second).Verify(context.Background(), o.PasswordHash, d.Password); !ok || err != nil {
		t.Fatalf("the stored hash does not verify the password: %v", err)
	}
	if _, err := NewService(st, nil, passwords.Policy{}, time.Now).Create(context.Background(), commandLine, d, policy, cheap, time.Now()); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("the same email again: %v, want ErrConflict", err)
	}
}
