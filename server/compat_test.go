package main

import (
	"context"
	"io"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/loadgen"
)

// The names the tests used before the demo seeding moved to internal/demo and
// the load generators to internal/loadgen. Each test file can call demo.* and
// loadgen.* directly instead; this file goes when none uses these names.

const (
	demoSlug            = demo.Slug
	demoAdminEmail      = demo.AdminEmail
	demoSupportEmail    = demo.SupportEmail
	demoCustomerCount   = demo.CustomerCount
	benchSearchPassword = loadgen.Password
)

// ensureDemo is demo.Ensure at the server's clock.
func ensureDemo(ctx context.Context, st demo.Store, password string, out io.Writer) error {
	return demo.Ensure(ctx, st, password, now(), out)
}

var (
	insertGenerated = demo.Insert
	runLoad         = loadgen.Run
	waitReady       = loadgen.WaitReady
)

// graphqlClient is a loadgen.Client whose token the tests set and read as
// token.
type graphqlClient struct {
	*loadgen.Client
	token string
}

func newGraphQLClient(baseURL string, conns int) *graphqlClient {
	return &graphqlClient{Client: loadgen.NewClient(baseURL, conns)}
}

func (c *graphqlClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	c.Client.Token = c.token
	return c.Client.Do(ctx, query, vars, out)
}

func (c *graphqlClient) operatorLogin(ctx context.Context, domain, email, password string) error {
	err := c.Client.OperatorLogin(ctx, domain, email, password)
	c.token = c.Client.Token
	return err
}

func searchWorkload(ctx context.Context, c *graphqlClient, seed uint64) ([]string, error) {
	return loadgen.SearchWorkload(ctx, c.Client, seed)
}

func searching(c *graphqlClient, queries []string) func(context.Context, int) error {
	return loadgen.Searches(c.Client, queries)
}
