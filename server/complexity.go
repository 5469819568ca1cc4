package main

import (
	"time"

	"github.com/iotconsole/bff/graph"
	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/customers"
)

// Lists without a page size count as this many items in the complexity
// limit: a customer's devices and the changes made during one assistance
// are few, and nothing in the API lets a caller make them many.
const (
	assumedDevicesPerCustomer = 10
	assumedChangesPerAssist   = 10
)

// dataExportCost is the complexity of a customer's dataExport: it reads the
// customer's devices and up to exports.MaxActivity audit records, so an
// operation holds a few exports at most, never one per customer of a page.
const dataExportCost = 1000

// setListComplexity makes every list field cost its page size times what
// each item selects (gqlgen's default counts a list as one item), so that
// nesting connections, such as customer -> accessHistory -> assistSession ->
// customer -> accessHistory, multiplies into the limit instead of past it.
func setListComplexity(c *graph.ComplexityRoot) {
	c.Query.Customers = func(child int, _ *string, _ *model.AccountStatus, first *int, _ *string) int {
		return listCost(child, first, 20)
	}
	c.Query.AssistSessions = func(child int, _ *string, _ *model.AssistState, first *int, _ *string) int {
		return listCost(child, first, 20)
	}
	c.Query.AuditLog = func(child int, _, _, _ *string, _, _ *time.Time, first *int, _ *string) int {
		return listCost(child, first, 50)
	}
	c.Customer.Activity = func(child int, first *int, _ *string) int { return listCost(child, first, 20) }
	c.Customer.AccessHistory = func(child int, first *int) int { return listCost(child, first, 20) }
	c.Customer.Devices = func(child int) int { return 1 + assumedDevicesPerCustomer*child }
	c.Customer.DataExport = func(int) int { return dataExportCost }
	c.AccessRecord.Changes = func(child int) int { return 1 + assumedChangesPerAssist*child }
}

// listCost is the complexity of a list field of first items (def when
// absent; clamped to 1..customers.MaxPageSize, the range the resolvers
// accept) whose items each cost child.
func listCost(child int, first *int, def int) int {
	n := def
	if first != nil {
		n = min(max(*first, 1), customers.MaxPageSize)
	}
	return 1 + n*child
}
