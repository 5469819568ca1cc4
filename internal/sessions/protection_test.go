package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const attacker, neighbour = "198.51.100.66", "198.51.100.67"

func from(addr string) context.Context { return audit.WithClientAddr(context.Background(), addr) }

// soon is the context of a caller that hangs up after 100 ms: for refusals
// that read the store first (a device token is looked up), so that the
// refusal's tarpit does not hold the test for a second.
func soon(t *testing.T, addr string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	t.Cleanup(cancel)
	return audit.WithClientAddr(ctx, addr)
}

// deviceLogin signs Ada in from addr with device and returns the result.
func (f *fixture) deviceLogin(ctx context.Context, pw, device string) (sessions.CustomerSignInResult, error) {
	return f.svc.CustomerSignInWith(ctx, sessions.Credentials{Domain: f.domain.Slug, Email: f.ada.Email, Password: pw, DeviceToken: device})
}

// stuff fails n sign-ins from addr: wrong passwords to Ada's account, then
// unknown emails, so that both the account and the address are spent.
func (f *fixture) stuff(t *testing.T, addr string, n int) {
	t.Helper()
	for i := range n {
		email := f.ada.Email
		if i >= 5 {
			email = fmt.Sprintf("stranger%d@example.com", i)
		}
		_, _, err := f.svc.CustomerLogin(from(addr), f.domain.Slug, email, "wrong-password-1234")
		wantErr(t, fmt.Sprintf("stuffed failure %d", i+1), err, apperr.ErrInvalidCredentials)
	}
}

// A returning customer behind the attacker's address (a NAT, a proxy)
// signs in with its device token while the address's budget is spent and
// its account backs off; without the token it waits; the same token comes
// back; a device token opens no session.
func TestKnownDeviceIsNotLockedOutByStrangers(t *testing.T) {
	f := newFixture(t)
	first, err := f.deviceLogin(from(neighbour), password, "")
	if err != nil || first.DeviceToken == "" || first.Token == "" {
		t.Fatalf("first sign-in: %+v %v", first, err)
	}
	if _, err := f.svc.Authenticate(context.Background(), first.DeviceToken); err != apperr.ErrUnauthenticated {
		t.Fatalf("a device token used as a session: %v", err)
	}
	f.stuff(t, attacker, 20)
	// Without the token: the account and the address wait.
	_, err = f.deviceLogin(audit.WithClientAddr(gone(), attacker), password, "")
	wantErr(t, "a new device at the attacker's address", err, apperr.ErrRateLimited)
	_, err = f.deviceLogin(audit.WithClientAddr(gone(), "203.0.113.1"), password, "")
	wantErr(t, "a new device elsewhere (the account backs off)", err, apperr.ErrRateLimited)
	// With it: in, and the same token comes back.
	again, err := f.deviceLogin(from(attacker), password, first.DeviceToken)
	if err != nil || again.DeviceToken != first.DeviceToken {
		t.Fatalf("the known device: %+v %v", again, err)
	}
	// The attacker's back-off of the account is not lifted by the owner's sign-in.
	_, err = f.deviceLogin(audit.WithClientAddr(gone(), "203.0.113.1"), password, "")
	wantErr(t, "a new device after the owner's sign-in", err, apperr.ErrRateLimited)
}

// A known device's own failures back off on their own key: they neither
// spend the address's budget nor the account's allowance.
func TestKnownDeviceFailuresCountPerDevice(t *testing.T) {
	f := newFixture(t)
	first, err := f.deviceLogin(from(neighbour), password, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := f.deviceLogin(from(neighbour), "wrong-password-1234", first.DeviceToken)
		wantErr(t, fmt.Sprintf("device failure %d", i+1), err, apperr.ErrInvalidCredentials)
	}
	l := f.latest(t, f.domain.ID, audit.ActionLoginLock)
	if len(l) != 1 || l[0].TargetID != f.ada.ID || !strings.Contains(l[0].Reason, "known device: next attempt in 1s") {
		t.Fatalf("lock-out records: %+v", l)
	}
	if fails := f.latest(t, f.domain.ID, audit.ActionLoginFail); len(fails) != 5 || fails[0].Reason != "wrong password (known device)" {
		t.Fatalf("failure records: %+v", fails)
	}
	_, err = f.deviceLogin(soon(t, neighbour), password, first.DeviceToken)
	wantErr(t, "the device during its back-off", err, apperr.ErrRateLimited)
	// Without the token, from the same address: the account and the address are untouched.
	if _, err := f.deviceLogin(from(neighbour), password, ""); err != nil {
		t.Fatalf("without the device token: %v", err)
	}
	f.clk.Advance(time.Second)
	if _, err := f.deviceLogin(from(neighbour), password, first.DeviceToken); err != nil {
		t.Fatalf("the device after its back-off: %v", err)
	}
}

// A device token stolen from one account gives no exemption to another:
// it is as if none was sent. Nor does one whose sessions ended (a password
// reset), nor one that expired, nor anything else.
func TestDeviceTokenOfAnotherAccountGivesNoExemption(t *testing.T) {
	f := newFixture(t)
	bob := storetest.NewCustomer(f.domain, "Bob", "Builder", "bob@example.com", "")
	bob.PasswordHash = passwords.Encode(cheap, password)
	if err := f.st.ImportCustomers(context.Background(), []customers.Customer{bob}, nil); err != nil {
		t.Fatal(err)
	}
	adas, err := f.deviceLogin(from(neighbour), password, "")
	if err != nil {
		t.Fatal(err)
	}
	bobs, err := f.svc.CustomerSignInWith(from(neighbour), sessions.Credentials{Domain: f.domain.Slug, Email: bob.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	// The attacker guesses Bob's password with Ada's token: Bob's account backs off as without one.
	guess := func(ctx context.Context, pw, device string) error {
		_, err := f.svc.CustomerSignInWith(ctx, sessions.Credentials{Domain: f.domain.Slug, Email: bob.Email, Password: pw, DeviceToken: device})
		return err
	}
	for i := range 5 {
		wantErr(t, fmt.Sprintf("guess %d with a stolen token", i+1), guess(from(attacker), "wrong-password-1234", adas.DeviceToken), apperr.ErrInvalidCredentials)
	}
	wantErr(t, "a stolen token during Bob's back-off", guess(soon(t, attacker), password, adas.DeviceToken), apperr.ErrRateLimited)
	wantErr(t, "a made-up token", guess(soon(t, attacker), password, "not-a-device-token"), apperr.ErrRateLimited)
	wantErr(t, "a session token as a device token", guess(soon(t, attacker), password, bobs.Token), apperr.ErrRateLimited)
	// Bob's own token works, and Ada's own token still works for Ada.
	if err := guess(from(attacker), password, bobs.DeviceToken); err != nil {
		t.Fatalf("Bob's own device: %v", err)
	}
	if _, err := f.deviceLogin(from(attacker), password, adas.DeviceToken); err != nil {
		t.Fatalf("Ada's own device: %v", err)
	}

	// Revoked with the account's sessions: a password reset ends Ada's
	// device token too; the next sign-in hands out a new one.
	if _, err := f.customers.ResetPassword(context.Background(), f.adminActor(), f.ada.ID, "violet-harbor-canyon-93", "violet-harbor-canyon-93", false); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := f.deviceLogin(from(attacker), "wrong-password-1234", adas.DeviceToken)
		wantErr(t, fmt.Sprintf("failure %d with an ended token", i+1), err, apperr.ErrInvalidCredentials)
	}
	_, err = f.deviceLogin(soon(t, neighbour), "violet-harbor-canyon-93", adas.DeviceToken)
	wantErr(t, "an ended token during the account's back-off", err, apperr.ErrRateLimited)
	f.clk.Advance(time.Second)
	renewed, err := f.deviceLogin(from(neighbour), "violet-harbor-canyon-93", adas.DeviceToken)
	if err != nil || renewed.DeviceToken == "" || renewed.DeviceToken == adas.DeviceToken {
		t.Fatalf("after the reset: %+v %v (want a new device token)", renewed, err)
	}
	// Expired: 180 days later the token no longer exempts.
	f.clk.Advance(sessions.DeviceTokenTTL)
	for range 5 {
		_, _ = f.deviceLogin(from(attacker), "wrong-password-1234", "")
	}
	_, err = f.deviceLogin(soon(t, neighbour), "violet-harbor-canyon-93", renewed.DeviceToken)
	wantErr(t, "an expired token", err, apperr.ErrRateLimited)
}

// THROTTLE_EXEMPT_CIDRS: an exempt address has no budget; its accounts
// still back off.
func TestExemptAddressesHaveNoBudget(t *testing.T) {
	f := newFixture(t)
	office := netip.MustParsePrefix("192.0.2.0/24")
	f.svc = sessions.NewService(f.st, passwords.NewHasher(cheap, 2, time.Second), passwords.Policy{}, f.clk.Now, ttl, sessions.WithExemptAddresses([]netip.Prefix{office}), sessions.WithFailureFloor(0))
	for i := range 40 {
		_, _, err := f.svc.CustomerLogin(from("192.0.2.10"), f.domain.Slug, fmt.Sprintf("stranger%d@example.com", i), "wrong-password-1234")
		wantErr(t, fmt.Sprintf("failure %d from the office", i+1), err, apperr.ErrInvalidCredentials)
	}
	if _, _, err := f.svc.CustomerLogin(from("192.0.2.10"), f.domain.Slug, f.ada.Email, password); err != nil {
		t.Fatalf("from the office after 40 failures: %v", err)
	}
	f.stuff(t, "192.0.2.11", 5)
	_, _, err := f.svc.CustomerLogin(audit.WithClientAddr(gone(), "192.0.2.11"), f.domain.Slug, f.ada.Email, password)
	wantErr(t, "the account still backs off", err, apperr.ErrRateLimited)
}

// A refused sign-in's answer is held for the tarpit (DefaultTarpit unless
// WithTarpit says otherwise), and only for it.
func TestRefusalsAreHeldForTheTarpit(t *testing.T) {
	f := newFixture(t)
	policy, err := passwords.NewPolicy(passwords.DefaultMinLength)
	if err != nil {
		t.Fatal(err)
	}
	refusal := func(tarpit time.Duration) time.Duration {
		svc := sessions.NewService(f.st, passwords.NewHasher(cheap, 2, time.Second), policy, f.clk.Now, ttl, sessions.WithTarpit(tarpit), sessions.WithFailureFloor(0))
		for range 20 {
			began := time.Now()
			_, err := svc.CustomerSignInWith(from(attacker), sessions.Credentials{Domain: f.domain.Slug, Email: f.ada.Email, Password: "not-the-password"})
			if errors.Is(err, apperr.ErrRateLimited) {
				return time.Since(began)
			}
		}
		t.Fatal("no refusal after 20 wrong passwords")
		return 0
	}
	if held := refusal(300 * time.Millisecond); held < 300*time.Millisecond {
		t.Errorf("a refusal with a tarpit of 300 ms answered after %v", held)
	}
	f.clk.Advance(24 * time.Hour) // a day of quiet: the back-off starts afresh
	if held := refusal(0); held >= sessions.DefaultTarpit {
		t.Errorf("a refusal without a tarpit answered after %v, as with the default", held)
	}
}

// A failed sign-in takes at least the failure floor, whatever failed (an
// unknown domain or account, a wrong password, an account without a
// password), so that a slow imported hash does not tell which emails have
// accounts; a sign-in that succeeds is not held.
func TestFailedSignInsTakeTheFloor(t *testing.T) {
	f := newFixture(t)
	policy, err := passwords.NewPolicy(passwords.DefaultMinLength)
	if err != nil {
		t.Fatal(err)
	}
	const floor = 300 * time.Millisecond
	svc := sessions.NewService(f.st, passwords.NewHasher(cheap, 2, time.Second), policy, f.clk.Now, ttl, sessions.WithFailureFloor(floor))
	noPassword := storetest.NewCustomer(f.domain, "Nia", "Nopass", "nia@example.com", "")
	noPassword.PasswordHash = "" // imported without one
	if err := f.st.ImportCustomers(context.Background(), []customers.Customer{noPassword}, nil); err != nil {
		t.Fatal(err)
	}
	signIn := func(c sessions.Credentials) (time.Duration, error) {
		began := time.Now()
		_, err := svc.CustomerSignInWith(from("198.51.100.9"), c)
		return time.Since(began), err
	}
	for name, c := range map[string]sessions.Credentials{
		"unknown domain":  {Domain: "no-such-domain", Email: f.ada.Email, Password: password},
		"unknown account": {Domain: f.domain.Slug, Email: "nobody@example.com", Password: password},
		"wrong password":  {Domain: f.domain.Slug, Email: f.ada.Email, Password: "not-the-password"},
		"no password set": {Domain: f.domain.Slug, Email: noPassword.Email, Password: password},
	} {
		took, err := signIn(c)
		if !errors.Is(err, apperr.ErrInvalidCredentials) || took < floor {
			t.Errorf("%s: %v after %v, want invalid credentials after at least %v", name, err, took, floor)
		}
	}
	if took, err := signIn(sessions.Credentials{Domain: f.domain.Slug, Email: f.ada.Email, Password: password}); err != nil || took >= floor {
		t.Errorf("a right password: %v after %v, want a session before the floor", err, took)
	}
}
