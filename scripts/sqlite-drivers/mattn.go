//go:build cgo_driver

package main

import _ "github.com/mattn/go-sqlite3" // SQLite's C through cgo (FTS5 with -tags sqlite_fts5)

func init() { drivers["mattn"] = "sqlite3" }
