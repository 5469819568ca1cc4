package main

import _ "modernc.org/sqlite" // SQLite translated to Go: the store's driver

func init() { drivers["modernc"] = "sqlite" }
