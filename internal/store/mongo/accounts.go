package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/faults"
	"github.com/iotconsole/bff/internal/operators"
)

type domainDoc struct {
	ID            string               `bson:"_id"`
	Slug          string               `bson:"slug"`
	Name          string               `bson:"name"`
	DefaultRegion string               `bson:"defaultRegion"`
	SignUpPolicy  domains.SignUpPolicy `bson:"signUpPolicy"`
	CreatedAt     time.Time            `bson:"createdAt"`
	// The settings (absent: off, the server's defaults).
	RequireOperatorMFA bool          `bson:"requireOperatorMfa,omitempty"`
	AssistTTL          time.Duration `bson:"assistTtl,omitempty"`
	PasswordMinLength  int           `bson:"passwordMinLength,omitempty"`
	// AssistConsent is absent on a domain stored before the setting
	// existed: it reads as NONE, what such a domain had.
	AssistConsent domains.AssistConsent `bson:"assistConsent,omitempty"`
}

// domainOf returns the domain doc stores, with the defaults of fields
// stored before they existed.
func domainOf(doc domainDoc) domains.Domain {
	doc.CreatedAt = doc.CreatedAt.UTC()
	if doc.SignUpPolicy == "" { // stored before sign-up existed
		doc.SignUpPolicy = domains.SignUpClosed
	}
	if doc.AssistConsent == "" { // stored before the consent setting existed
		doc.AssistConsent = domains.AssistConsentNone
	}
	return domains.Domain(doc)
}

// CreateDomain implements domains.Store.
func (s *Store) CreateDomain(ctx context.Context, d domains.Domain) error {
	d.AssistConsent = d.AssistConsent.OrDefault()
	_, err := s.domains.InsertOne(ctx, domainDoc(d))
	if err != nil {
		return fmt.Errorf("create domain %s: %w", d.Slug, mapErr(err))
	}
	return nil
}

// DomainBySlug implements domains.Store.
func (s *Store) DomainBySlug(ctx context.Context, slug string) (domains.Domain, error) {
	return s.findDomain(ctx, bson.D{{Key: "slug", Value: slug}})
}

// UpdateDomain implements domains.SettingsStore: the settings, then the
// audit record (a domain document has no outbox: a crash between the two
// loses the record, never the change).
func (s *Store) UpdateDomain(ctx context.Context, d domains.Domain, rec audit.Record, evs ...events.Event) error {
	items := outboxItems(rec, evs)
	res, err := s.domains.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "name", Value: d.Name}, {Key: "defaultRegion", Value: d.DefaultRegion}, {Key: "signUpPolicy", Value: d.SignUpPolicy},
		{Key: "requireOperatorMfa", Value: d.RequireOperatorMFA}, {Key: "assistTtl", Value: d.AssistTTL}, {Key: "passwordMinLength", Value: d.PasswordMinLength},
		{Key: "assistConsent", Value: d.AssistConsent.OrDefault()},
	}}, {Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}}})
	if err == nil && res.MatchedCount == 0 {
		err = mongo.ErrNoDocuments
	}
	if err == nil {
		err = s.relay(ctx, s.domains, d.ID, items)
	}
	if err != nil {
		return fmt.Errorf("update domain %s: %w", d.ID, mapErr(err))
	}
	return nil
}

// DomainsByName implements domains.Store: every domain's name is keyed
// here (domains.NameKey has no query form; the collection holds one
// document a company).
func (s *Store) DomainsByName(ctx context.Context, name string) ([]domains.Domain, error) {
	key := domains.NameKey(name)
	cur, err := s.domains.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("domains named: %w", mapErr(err))
	}
	var docs []domainDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("domains named: %w", mapErr(err))
	}
	var found []domains.Domain
	for _, doc := range docs {
		if domains.NameKey(doc.Name) != key {
			continue
		}
		found = append(found, domainOf(doc))
	}
	return found, nil
}

// DomainByID implements domains.Store.
func (s *Store) DomainByID(ctx context.Context, id string) (domains.Domain, error) {
	return s.findDomain(ctx, bson.D{{Key: "_id", Value: id}})
}

func (s *Store) findDomain(ctx context.Context, filter bson.D) (domains.Domain, error) {
	var doc domainDoc
	if err := s.domains.FindOne(ctx, filter).Decode(&doc); err != nil {
		return domains.Domain{}, fmt.Errorf("domain: %w", mapErr(err))
	}
	return domainOf(doc), nil
}

type operatorDoc struct {
	ID              string           `bson:"_id"`
	DomainID        string           `bson:"domainId"`
	Name            string           `bson:"name"`
	Email           string           `bson:"email"`
	Role            operators.Role   `bson:"role"`
	Status          operators.Status `bson:"status"`
	PasswordHash    string           `bson:"passwordHash"`
	CreatedAt       time.Time        `bson:"createdAt"`
	UpdatedAt       time.Time        `bson:"updatedAt"`
	Version         int64            `bson:"version"`
	SessionEpoch    int64            `bson:"sessionEpoch"`
	SetupTicketHash string           `bson:"setupTicketHash,omitempty"` // absent when "": the unique index skips it
	SetupExpiresAt  time.Time        `bson:"setupExpiresAt,omitempty"`
	TOTPSecret      string           `bson:"totpSecret,omitempty"`
	TOTPPending     string           `bson:"totpPendingSecret,omitempty"`
	TOTPLastStep    int64            `bson:"totpLastStep,omitempty"`
	RecoveryHashes  []string         `bson:"recoveryCodeHashes,omitempty"`
	Outbox          []outboxDoc      `bson:"outbox,omitempty"` // records not yet relayed, see outbox.go
}

func newOperatorDoc(o operators.Operator) operatorDoc {
	return operatorDoc{ID: o.ID, DomainID: o.DomainID, Name: o.Name, Email: o.Email, Role: o.Role, Status: o.Status, PasswordHash: o.PasswordHash,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Version: o.Version, SessionEpoch: o.SessionEpoch,
		SetupTicketHash: o.SetupTicketHash, SetupExpiresAt: o.SetupExpiresAt, TOTPSecret: o.TOTPSecret, TOTPPending: o.TOTPPendingSecret,
		TOTPLastStep: o.TOTPLastStep, RecoveryHashes: o.RecoveryCodeHashes}
}

func (d operatorDoc) operator() operators.Operator {
	o := operators.Operator{ID: d.ID, DomainID: d.DomainID, Name: d.Name, Email: d.Email, Role: d.Role, Status: d.Status, PasswordHash: d.PasswordHash,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version, SessionEpoch: d.SessionEpoch,
		SetupTicketHash: d.SetupTicketHash, TOTPSecret: d.TOTPSecret, TOTPPendingSecret: d.TOTPPending, TOTPLastStep: d.TOTPLastStep,
		RecoveryCodeHashes: d.RecoveryHashes}
	if !d.SetupExpiresAt.IsZero() {
		o.SetupExpiresAt = d.SetupExpiresAt.UTC()
	}
	return o
}

// CreateOperator implements operators.Store.
func (s *Store) CreateOperator(ctx context.Context, o operators.Operator) error {
	if _, err := s.operators.InsertOne(ctx, newOperatorDoc(o)); err != nil {
		return fmt.Errorf("create operator: %w", mapErr(err))
	}
	return nil
}

// OperatorByEmail implements operators.Store.
func (s *Store) OperatorByEmail(ctx context.Context, domainID, email string) (operators.Operator, error) {
	return s.findOperator(ctx, bson.D{{Key: "domainId", Value: domainID}, {Key: "email", Value: email}})
}

// OperatorByID implements operators.Store.
func (s *Store) OperatorByID(ctx context.Context, id string) (operators.Operator, error) {
	return s.findOperator(ctx, bson.D{{Key: "_id", Value: id}})
}

// OperatorsByIDs implements operators.Store.
func (s *Store) OperatorsByIDs(ctx context.Context, ids []string) ([]operators.Operator, error) {
	docs, err := findByIDs[operatorDoc](ctx, s.operators, ids)
	if err != nil {
		return nil, fmt.Errorf("operators by id: %w", err)
	}
	out := make([]operators.Operator, len(docs))
	for i, doc := range docs {
		out[i] = doc.operator()
	}
	return out, nil
}

func (s *Store) findOperator(ctx context.Context, filter bson.D) (operators.Operator, error) {
	var doc operatorDoc
	if err := s.operators.FindOne(ctx, filter).Decode(&doc); err != nil {
		return operators.Operator{}, fmt.Errorf("operator: %w", mapErr(err))
	}
	return doc.operator(), nil
}

type customerDoc struct {
	ID           string           `bson:"_id"`
	DomainID     string           `bson:"domainId"`
	ExternalID   string           `bson:"externalId,omitempty"` // absent when "": the unique index skips it
	FirstName    string           `bson:"firstName"`
	LastName     string           `bson:"lastName"`
	Email        string           `bson:"email"`
	Phone        string           `bson:"phone"`
	PhoneRegion  string           `bson:"phoneRegion,omitempty"` // absent in customers stored before it was kept
	Status       customers.Status `bson:"status"`
	PasswordHash string           `bson:"passwordHash"`
	SearchTokens []string         `bson:"searchTokens"`
	Prefixes     []string         `bson:"searchPrefixes"` // searchPrefixes(SearchTokens), see prefixes.go
	Version      int64            `bson:"version"`
	CreatedAt    time.Time        `bson:"createdAt"`
	UpdatedAt    time.Time        `bson:"updatedAt"`
	LastKey      string           `bson:"lastKey"` // customers.SortKeys: what search results are ordered by
	FirstKey     string           `bson:"firstKey"`
	MustChange   bool             `bson:"mustChangePassword"`
	SessionEpoch int64            `bson:"sessionEpoch"`
	Outbox       []outboxDoc      `bson:"outbox,omitempty"` // records not yet relayed, see outbox.go
}

func newCustomerDoc(c customers.Customer) customerDoc {
	last, first := customers.SortKeys(c)
	return customerDoc{
		ID: c.ID, DomainID: c.DomainID, ExternalID: c.ExternalID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone,
		PhoneRegion: c.PhoneRegion, Status: c.Status, PasswordHash: c.PasswordHash, SearchTokens: c.SearchTokens, Prefixes: searchPrefixes(c.SearchTokens), Version: c.Version,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, LastKey: last, FirstKey: first,
		MustChange: c.MustChangePassword, SessionEpoch: c.SessionEpoch,
	}
}

func (d customerDoc) customer() customers.Customer {
	return customers.Customer{
		ID: d.ID, DomainID: d.DomainID, ExternalID: d.ExternalID, FirstName: d.FirstName, LastName: d.LastName, Email: d.Email, Phone: d.Phone,
		PhoneRegion: d.PhoneRegion, Status: d.Status, PasswordHash: d.PasswordHash, SearchTokens: d.SearchTokens, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), MustChangePassword: d.MustChange, SessionEpoch: d.SessionEpoch,
	}
}

// CreateCustomer implements customers.Store, with the audit record in the
// customer's outbox (see outbox.go).
func (s *Store) CreateCustomer(ctx context.Context, c customers.Customer, rec audit.Record) error {
	doc, items := newCustomerDoc(c), outboxItems(rec, nil)
	doc.Outbox = items
	_, err := s.customers.InsertOne(ctx, doc)
	if err == nil {
		err = s.relay(ctx, s.customers, c.ID, items)
	}
	if err == nil {
		err = s.countVocabulary(ctx, vocabularyChange{}.with(c.DomainID, c.FirstName, c.LastName, 1))
	}
	if err != nil {
		return fmt.Errorf("create customer: %w", mapErr(err))
	}
	return nil
}

// CustomerByID implements customers.Store.
func (s *Store) CustomerByID(ctx context.Context, id string) (customers.Customer, error) {
	return s.findCustomer(ctx, bson.D{{Key: "_id", Value: id}})
}

// CustomersByIDs implements customers.Store.
func (s *Store) CustomersByIDs(ctx context.Context, ids []string) ([]customers.Customer, error) {
	docs, err := findByIDs[customerDoc](ctx, s.customers, ids, notErased)
	if err != nil {
		return nil, fmt.Errorf("customers by id: %w", err)
	}
	out := make([]customers.Customer, len(docs))
	for i, doc := range docs {
		out[i] = doc.customer()
	}
	return out, nil
}

// CustomerByEmail implements customers.Store.
func (s *Store) CustomerByEmail(ctx context.Context, domainID, email string) (customers.Customer, error) {
	return s.findCustomer(ctx, bson.D{{Key: "domainId", Value: domainID}, {Key: "email", Value: email}})
}

func (s *Store) findCustomer(ctx context.Context, filter bson.D) (customers.Customer, error) {
	var doc customerDoc
	if err := s.customers.FindOne(ctx, append(filter, notErased)).Decode(&doc); err != nil {
		return customers.Customer{}, fmt.Errorf("customer: %w", mapErr(err))
	}
	return doc.customer(), nil
}

// UpdateCustomer implements customers.Store. The change, its audit record and
// its events are one single-document update (the records go into the
// customer's outbox), then relayed to their collections.
func (s *Store) UpdateCustomer(ctx context.Context, u customers.Update) (customers.Customer, error) {
	set := bson.D{{Key: "updatedAt", Value: u.At}}
	if u.PasswordHash != nil {
		set = append(set, bson.E{Key: "passwordHash", Value: *u.PasswordHash})
	}
	if u.Status != nil {
		set = append(set, bson.E{Key: "status", Value: *u.Status})
	}
	if u.MustChangePassword != nil {
		set = append(set, bson.E{Key: "mustChangePassword", Value: *u.MustChangePassword})
	}
	if u.ExternalID != nil && *u.ExternalID != "" { // ids are set, never removed
		set = append(set, bson.E{Key: "externalId", Value: *u.ExternalID})
	}
	set = append(set, profileSet(u)...)
	inc := bson.D{{Key: "version", Value: 1}}
	if u.EndSessions {
		inc = append(inc, bson.E{Key: "sessionEpoch", Value: 1})
	}
	items := outboxItems(u.Audit, u.Events)
	update := bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: inc}}
	if len(items) > 0 {
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}})
	}
	filter := bson.D{{Key: "_id", Value: u.ID}, {Key: "version", Value: u.Version}}
	if taken, err := s.emailTaken(ctx, u); err != nil || taken {
		if taken {
			err = customers.ErrEmailTaken
		}
		return customers.Customer{}, fmt.Errorf("update customer %s: %w", u.ID, mapErr(err))
	}
	var vocabulary vocabularyChange
	if u.FirstName != nil && u.LastName != nil { // renamed: the names it had leave the vocabulary
		before, err := s.findCustomer(ctx, bson.D{{Key: "_id", Value: u.ID}})
		if err == nil && before.Version == u.Version {
			vocabulary = vocabularyChange{}.with(before.DomainID, before.FirstName, before.LastName, -1)
			vocabulary.add(before.DomainID, *u.FirstName, *u.LastName, 1)
		}
	}
	var doc customerDoc
	err := s.customers.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = missed(ctx, s.customers, u.ID)
	}
	if u.Email != nil && mongo.IsDuplicateKeyError(err) { // the one unique index an update can break
		err = customers.ErrEmailTaken
	}
	if err != nil {
		return customers.Customer{}, fmt.Errorf("update customer %s: %w", u.ID, mapErr(err))
	}
	faults.Crash(faults.AfterCustomerChange)
	if err := s.relay(ctx, s.customers, u.ID, items); err != nil {
		return customers.Customer{}, fmt.Errorf("update customer %s: %w", u.ID, err)
	}
	if err := s.countVocabulary(ctx, vocabulary); err != nil {
		return customers.Customer{}, fmt.Errorf("update customer %s: %w", u.ID, err)
	}
	return doc.customer(), nil
}

// CountCustomers implements customers.Store.
func (s *Store) CountCustomers(ctx context.Context, domainID string) (int64, error) {
	n, err := s.customers.CountDocuments(ctx, bson.D{{Key: "domainId", Value: domainID}, notErased})
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", mapErr(err))
	}
	return n, nil
}
