package imports_test

import (
	"os"
	"testing"

	"github.com/iotconsole/bff/internal/store/mongotest"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }
