// Package web serves the reference clients the BFF ships with: the operator
// console (/console), the customer dashboard (/dashboard) and, when enabled,
// the GraphQL playground (/playground). They are plain HTML, CSS and ES
// modules embedded in the binary: no build step and no Node at run time.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy keeps every page to its own origin: scripts, styles,
// fetches and WebSockets. Nothing loads from elsewhere, no page can be framed.
// GraphiQL sets inline styles, hence 'unsafe-inline' for styles only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// Register adds the pages and their assets to mux. The playground page is
// added only when playground is true.
func Register(mux *http.ServeMux, playground bool) {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	etags := contentTags(assets)
	page := func(name string) http.Handler {
		return withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", etags[name])
			http.ServeFileFS(w, r, assets, name)
		}))
	}
	mux.Handle("GET /{$}", http.RedirectHandler("/console", http.StatusFound))
	mux.Handle("GET /console", page("console.html"))
	mux.Handle("GET /dashboard", page("dashboard.html"))
	if playground {
		mux.Handle("GET /playground", page("playground.html"))
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(assets))
	mux.Handle("GET /assets/", withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		// Revalidated on every use (pages and their modules change together), answered 304 by ETag.
		w.Header().Set("Cache-Control", "no-cache")
		if tag, ok := etags[strings.TrimPrefix(r.URL.Path, "/assets/")]; ok {
			w.Header().Set("ETag", tag)
		}
		files.ServeHTTP(w, r)
	})))
}

// contentTags returns an ETag for every file of fsys, from its content (the
// embedded files have no modification times to revalidate by).
func contentTags(fsys fs.FS) map[string]string {
	tags := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[path] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return tags
}

// withHeaders sets the security headers every page and asset gets.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
		next.ServeHTTP(w, r)
	})
}
