//go:build !cgo_driver

package main

import (
	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // SQLite compiled to WebAssembly, translated to Go
	"github.com/ncruces/go-sqlite3/ext/fts5"
)

func init() {
	sqlite3.AutoExtension(fts5.Register)
	drivers["ncruces"] = "sqlite3"
}
