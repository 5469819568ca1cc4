package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client posts GraphQL requests to a server's /graphql, with Token as the
// bearer token when it is set.
type Client struct {
	Token string
	// Header, when set, adds headers to each request (a proxy's
	// X-Forwarded-For, different each time).
	Header func(http.Header)

	url  string
	http *http.Client
}

// NewClient returns a Client of the server at baseURL that keeps up to
// conns idle connections.
func NewClient(baseURL string, conns int) *Client {
	return &Client{url: baseURL + "/graphql", http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns},
	}}
}

// Do sends one operation and decodes its data into out (when not nil). It
// returns an error for a transport failure or any GraphQL error.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Header != nil {
		c.Header(req.Header)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var decoded struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&decoded); err != nil {
		return fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if len(decoded.Errors) > 0 {
		return errors.New(decoded.Errors[0].Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(decoded.Data, out)
}

// OperatorLogin signs in as an operator and keeps the session's token. It
// returns an error if the request fails or the sign-in is refused.
func (c *Client) OperatorLogin(ctx context.Context, domain, email, password string) error {
	var out struct {
		OperatorLogin struct {
			Token *string `json:"token"`
		} `json:"operatorLogin"`
	}
	q := `mutation($d: String!, $e: String!, $p: String!) { operatorLogin(input: {domain: $d, email: $e, password: $p}) { token } }`
	if err := c.Do(ctx, q, map[string]any{"d": domain, "e": email, "p": password}, &out); err != nil {
		return err
	}
	if out.OperatorLogin.Token == nil {
		return errors.New("operator login refused")
	}
	c.Token = *out.OperatorLogin.Token
	return nil
}

// send posts an encoded request and returns an error for a failed request
// or a response carrying GraphQL errors.
func (c *Client) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(answer, []byte(`"errors":`)) {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, answer)
	}
	return nil
}
