package mongo_test

import (
	"testing"

	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// The sign-in limiters' counters on the Mongo store; racing writers are
// checked only on MongoDB (FerretDB v1.24 loses concurrent $inc).
func TestThrottlesContract(t *testing.T) {
	storetest.Throttles(t, open(t).(*mongo.Store), !mongotest.IsFerretDB(t))
}
