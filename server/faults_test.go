package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/faults"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/loadgen"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// When the store goes away the service says so quickly and recovers by
// itself when it is back.
func TestStoreOutage(t *testing.T) {
	db := mongotest.Private(t)
	s := startTest(t, func(c *config) { c.MongoURI = db.URI() })
	login := func() (gqlResponse, time.Duration) {
		start := time.Now()
		resp := s.post(t, "", loginMutation, map[string]any{"domain": "demo", "email": demo.AdminEmail, "password": "whatever-it-is"})
		return resp, time.Since(start)
	}
	if code, _ := get(t, s.URL()+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the outage: %d", code)
	}

	db.Stop()
	if code, _ := get(t, s.URL()+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the outage: %d, want 503", code)
	}
	resp, took := login()
	if resp.code() != codeUnavailable {
		t.Fatalf("a request during the outage: %+v, want UNAVAILABLE", resp)
	}
	if took > 5*time.Second {
		t.Fatalf("a request during the outage took %v", took)
	}
	for _, e := range resp.Errors {
		if e.Message != "service temporarily unavailable" {
			t.Fatalf("internals in the answer: %q", e.Message)
		}
	}

	db.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := get(t, s.URL()+"/readyz")
		resp, _ := login()
		if code == http.StatusOK && resp.code() == "" {
			return // back: the login is refused with userErrors, as without the outage
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 20 s after the store came back: /readyz %d, %+v", code, resp)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A process killed between a customer's change and the writing of its audit
// record and event leaves, after a restart, the change with exactly one
// record and one event, or none of the three.
func TestKilledBetweenChangeAndRecords(t *testing.T) {
	for _, kind := range []string{"sqlite", "mongo"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			var env []string
			var open func() store.Store
			switch kind {
			case "sqlite":
				dir := t.TempDir()
				env = []string{"DATA_DIR=" + dir}
				open = func() store.Store {
					st, err := sqlite.Open(ctx, dir)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			default:
				uri := mongotest.URI(t)
				env = []string{"MONGODB_URI=" + uri}
				open = func() store.Store {
					st, err := mongo.Open(ctx, uri)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			}
			st := open()
			customer := addCustomer(t, &testInstance{server: &server{store: st}}).customer
			_ = st.Close(ctx)

			addr := freeAddr(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), append(env, "BFF_TEST_MAIN=1", "LISTEN_ADDR="+addr, "METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=error",
				"DEMO_PASSWORD="+testPassword, "BFF_TEST_FAULT="+faults.AfterCustomerChange)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			if err := loadgen.WaitReady(ctx, "http://"+addr); err != nil {
				t.Fatal(err)
			}
			victim := &accountFixture{testInstance: &testInstance{url: "http://" + addr}, customer: customer}
			admin := victim.login(t, demo.AdminEmail)
			body, _ := json.Marshal(map[string]any{"query": setStatusMutation, "variables": map[string]any{"id": victim.customerID(), "status": "DISABLED", "reason": "crash"}})
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+admin)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("the mutation was answered (%d): the fault did not fire", resp.StatusCode)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatal("the process did not die")
			}

			// The restart: opening the store repairs what the crash left.
			st = open()
			defer st.Close(ctx)
			c, err := st.CustomerByID(ctx, customer.ID)
			if err != nil {
				t.Fatal(err)
			}
			changed := 0
			if c.Status == customers.StatusDisabled {
				changed = 1
			}
			records, _ := st.FindAudit(ctx, audit.Query{DomainID: c.DomainID, CustomerID: c.ID, Action: audit.ActionUserDisabled, Limit: 10})
			evs, _ := storetest.RecentEvents(ctx, st, c.DomainID, 100)
			statusEvents := 0
			for _, e := range evs {
				if e.Type == events.StatusChanged && e.CustomerID == c.ID {
					statusEvents++
				}
			}
			if len(records) != changed || statusEvents != changed {
				t.Fatalf("after the crash: changed %d, %d audit records, %d events; want all equal", changed, len(records), statusEvents)
			}
			t.Logf("%s: change applied %d time(s), with %d audit record(s) and %d event(s)", kind, changed, len(records), statusEvents)
		})
	}
}

// Shutting down while writes pour in loses none that was acknowledged.
func TestShutdownUnderLoadKeepsAcknowledgedWrites(t *testing.T) {
	f := newAccountFixture(t, nil)
	ctx := context.Background()
	token, _, _ := f.customerLogin(t, customerPassword)
	const writers = 4
	deviceIDs := []string{f.device.ID}
	for i := 1; i < writers; i++ {
		d := f.device
		d.ID, d.Name, d.SerialNumber = ids.New(), fmt.Sprintf("Extra %d", i), fmt.Sprintf("%s-EXTRA-%d", d.SerialNumber, i)
		if err := f.store.InsertDevices(ctx, []devices.Device{d}); err != nil {
			t.Fatal(err)
		}
		deviceIDs = append(deviceIDs, d.ID)
	}
	rename := `mutation($id: ID!, $name: String!) { updateDevice(input: {deviceId: $id, name: $name}) { device { name } } }`
	acknowledged := make([]int, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := loadgen.NewClient(f.URL(), 1)
			client.Token = token
			for n := 1; ; n++ {
				vars := map[string]any{"id": globalIDForTest("Device", deviceIDs[w]), "name": fmt.Sprintf("write %d", n)}
				if err := client.Do(ctx, rename, vars, nil); err != nil {
					return // the server is gone
				}
				acknowledged[w] = n
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := f.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	reopened, err := sqlite.Open(ctx, f.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close(ctx)
	total := 0
	for w, id := range deviceIDs {
		d, err := reopened.DeviceByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var stored int
		if _, err := fmt.Sscanf(d.Name, "write %d", &stored); err != nil || stored < acknowledged[w] {
			t.Fatalf("device %d holds %q, but write %d was acknowledged", w, d.Name, acknowledged[w])
		}
		total += acknowledged[w]
	}
	if total == 0 {
		t.Fatal("no write was acknowledged before the shutdown")
	}
	t.Logf("%d acknowledged writes, all kept", total)
}
