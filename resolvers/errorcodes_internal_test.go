package resolvers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iotconsole/bff/graph/model"
)

// Every code a *apperr.ValidationError is made with reaches clients as a
// UserError's code (userErrors), so it must be a value of the schema's
// UserErrorCode enum: clients generated from the schema (Apollo Kotlin and
// iOS, Relay, graphql-codegen) cannot read a value it does not declare.
// The codes are read from the source: the string given to apperr.Invalid,
// or the constant named there.
func TestEveryValidationCodeIsInTheSchema(t *testing.T) {
	fset := token.NewFileSet()
	consts := map[string]string{} // constant name -> its string value
	var used []struct {
		at   string
		code ast.Expr
	}
	for _, root := range []string{"../internal", "."} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for i, name := range n.Names {
						if lit, ok := valueAt(n.Values, i).(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Invalid" && len(n.Args) == 3 {
						if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "apperr" {
							used = append(used, struct {
								at   string
								code ast.Expr
							}{fset.Position(n.Pos()).String(), n.Args[1]})
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(used) < 30 {
		t.Fatalf("found %d calls of apperr.Invalid: the scan is broken", len(used))
	}
	for _, u := range used {
		var code string
		switch e := u.code.(type) {
		case *ast.BasicLit:
			code, _ = strconv.Unquote(e.Value)
		case *ast.Ident:
			code = consts[e.Name]
		case *ast.SelectorExpr:
			code = consts[e.Sel.Name]
		}
		if code == "" {
			continue // a code passed through (a variable): its origin is one of the others
		}
		if !model.UserErrorCode(code).IsValid() {
			t.Errorf("%s: code %q is not in the schema's UserErrorCode", u.at, code)
		}
	}
}

func valueAt(values []ast.Expr, i int) ast.Expr {
	if i < len(values) {
		return values[i]
	}
	return nil
}
