// Package web serves the reference clients the BFF ships with: the operator
// console (/console), the customer dashboard (/dashboard) and, when enabled,
// the GraphQL playground (/playground). They are plain HTML, CSS and ES
// modules embedded in the binary: no build step and no Node at run time.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
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
	assets := loadAssets()
	mux.Handle("GET /{$}", http.RedirectHandler("/console", http.StatusFound))
	mux.Handle("GET /console", assets["console.html"])
	mux.Handle("GET /dashboard", assets["dashboard.html"])
	if playground {
		mux.Handle("GET /playground", assets["playground.html"])
	}
	mux.HandleFunc("GET /assets/{path...}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		a.ServeHTTP(w, r)
	})
}

// asset is one embedded file, served with its security headers, revalidated
// by a content ETag, and gzipped for clients that take it.
type asset struct {
	name string
	raw  []byte
	etag string

	once sync.Once
	gz   []byte // raw gzipped, made at the first request that takes gzip; nil when no smaller
}

// loadAssets reads every embedded file, by its path below static/.
func loadAssets() map[string]*asset {
	assets := map[string]*asset{}
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		rel := strings.TrimPrefix(name, "static/")
		assets[rel] = &asset{name: rel, raw: raw, etag: hex.EncodeToString(sum[:8])}
		return nil
	})
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return assets
}

func (a *asset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
	h.Set("Cache-Control", "no-cache") // revalidated on every use: pages and their modules change together
	h.Add("Vary", "Accept-Encoding")
	contentType := mime.TypeByExtension(path.Ext(a.name))
	if contentType == "" {
		contentType = "text/plain; charset=utf-8" // licences and notes
	}
	h.Set("Content-Type", contentType)
	body, etag := a.raw, a.etag
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		if gz := a.gzipped(); gz != nil {
			body, etag = gz, etag+"-gzip"
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// gzipped returns the asset gzipped, or nil when that is not smaller.
func (a *asset) gzipped() []byte {
	a.once.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(a.raw)
		_ = zw.Close()
		if b.Len() < len(a.raw) {
			a.gz = b.Bytes()
		}
	})
	return a.gz
}
