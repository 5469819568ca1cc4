package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestPagesAreServedWithTheirHeaders(t *testing.T) {
	s := startTest(t, func(c *config) { c.Playground = true })
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := noRedirects.Get(s.URL() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, c := range []struct{ path, contentType string }{
		{"/console", "text/html"}, {"/dashboard", "text/html"}, {"/playground", "text/html"},
		{"/assets/console.js", "text/javascript"}, {"/assets/app.css", "text/css"},
		{"/assets/vendor/graphiql.min.js", "text/javascript"},
	} {
		resp, body := fetch(c.path)
		h := resp.Header
		if resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), c.contentType) || body == "" {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, h.Get("Content-Type"))
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", c.path, h)
		}
	}
	// Revalidation: the same content answers 304.
	for _, path := range []string{"/console", "/assets/console.js"} {
		resp, _ := fetch(path)
		req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if resp.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("%s: ETag %q, revalidation %d, want 304", path, resp.Header.Get("ETag"), again.StatusCode)
		}
	}
	if resp, _ := fetch("/"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console" {
		t.Errorf("/ = %d to %q, want a redirect to /console", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/assets/", "/assets/vendor/", "/assets/nothing.js"} {
		if resp, _ := fetch(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s = %d, want 404 (no listings)", path, resp.StatusCode)
		}
	}

	// The vendored files are the ones the playground's integrity attributes name.
	_, page := fetch("/playground")
	refs := regexp.MustCompile(`(?:src|href)="(/assets/vendor/[^"]+)" integrity="sha256-([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 4 {
		t.Fatalf("the playground names %d vendored files with their hashes, want 4", len(refs))
	}
	for _, ref := range refs {
		for _, encoding := range []string{"identity", "gzip"} {
			req, _ := http.NewRequest(http.MethodGet, s.URL()+ref[1], nil)
			req.Header.Set("Accept-Encoding", encoding) // set by hand: the client passes the body on as it came
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			sent, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := sent
			if got := resp.Header.Get("Content-Encoding"); encoding == "gzip" {
				if got != "gzip" {
					t.Fatalf("%s with gzip accepted: Content-Encoding %q", ref[1], got)
				}
				zr, err := gzip.NewReader(bytes.NewReader(sent))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(zr)
				t.Logf("%s: %d bytes, %d gzipped", ref[1], len(body), len(sent))
			} else if got != "" {
				t.Errorf("%s without gzip: Content-Encoding %q", ref[1], got)
			}
			sum := sha256.Sum256(body)
			if got := base64.StdEncoding.EncodeToString(sum[:]); got != ref[2] {
				t.Errorf("%s (%s): sha256-%s, the page expects sha256-%s", ref[1], encoding, got, ref[2])
			}
		}
	}
	// Nothing on the pages comes from another origin.
	for _, path := range []string{"/console", "/dashboard", "/playground"} {
		if _, body := fetch(path); strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s refers to another origin", path)
		}
	}
}
