package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/iotconsole/bff/internal/gqlmarshal"
)

// strictVariables refuses variables whose JSON type is not one the GraphQL
// spec's input coercion accepts for the variable's type (GraphQL spec,
// section 3.5, "Scalars", "Input Coercion" of each built-in scalar):
//   - String: a JSON string only (gqlparser took a number, 42, as "42");
//   - Int: a whole JSON number, from -2^31 to 2^31-1
//     (gqlparser took a string, "20", and any 64-bit integer);
//   - Float: a finite JSON number (gqlparser took a string, "21.5");
//   - Boolean: true or false;
//   - ID: a JSON string or integer;
//   - an enum: a JSON string, one of its values' names exactly (gqlparser
//     matched names in any case, and "active" for ACTIVE then failed in
//     gqlgen's unmarshalling as an internal error);
//   - an input object: a JSON object, each field checked the same way;
//   - a list: a JSON array of such values, or one value (coerced to a list
//     of one, as the spec says).
//
// It runs after gqlparser's own check of the variables (which refuses
// missing and null non-null variables and unknown input fields), on what it
// leaves in OperationContext.Variables: the JSON values sent (gqlgen decodes
// requests with UseNumber, so a number is a json.Number, never a string),
// with default values filled in and the numbers of Int and Float variables
// converted to int64 and float64. Custom scalars
// other than Time keep their own unmarshalling. A refusal is a request error with
// code GRAPHQL_VALIDATION_FAILED, as gqlgen's own variable errors are; its
// message names the variable and the expected type, never the value sent.
type strictVariables struct{ schema *ast.Schema }

var (
	_ graphql.HandlerExtension        = strictVariables{}
	_ graphql.OperationContextMutator = strictVariables{}
)

func (strictVariables) ExtensionName() string { return "StrictVariables" }

func (strictVariables) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (v strictVariables) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	for _, def := range oc.Operation.VariableDefinitions {
		value, present := oc.Variables[def.Variable]
		if !present {
			continue
		}
		path := ast.Path{ast.PathName("variable"), ast.PathName(def.Variable)}
		if problem := v.check(def.Type, value, &path); problem != "" {
			return &gqlerror.Error{
				Message:    fmt.Sprintf("Variable \"$%s\" has an invalid value: %s", def.Variable, problem),
				Path:       path,
				Extensions: map[string]any{"code": errcode.ValidationFailed},
			}
		}
	}
	return nil
}

// check returns what is wrong with value as an input of typ, or "" when
// nothing is; path is extended to the wrong part (a list index, a field).
func (v strictVariables) check(typ *ast.Type, value any, path *ast.Path) string {
	if value == nil {
		return "" // null: gqlparser refused it where the type is non-null
	}
	if typ.Elem != nil {
		list, ok := value.([]any)
		if !ok {
			return v.check(typ.Elem, value, path) // one value is a list of one
		}
		for i, item := range list {
			*path = append(*path, ast.PathIndex(i))
			if problem := v.check(typ.Elem, item, path); problem != "" {
				return problem
			}
			*path = (*path)[:len(*path)-1]
		}
		return ""
	}
	def := v.schema.Types[typ.NamedType]
	if def == nil {
		return ""
	}
	switch def.Kind {
	case ast.Enum:
		if name, ok := value.(string); !ok || def.EnumValues.ForName(name) == nil {
			return def.Name + " expects the name of one of its values, as written in the schema"
		}
	case ast.InputObject:
		fields, ok := value.(map[string]any)
		if !ok {
			return def.Name + " expects an object"
		}
		for _, field := range def.Fields {
			fv, present := fields[field.Name]
			if !present {
				continue
			}
			*path = append(*path, ast.PathName(field.Name))
			if problem := v.check(field.Type, fv, path); problem != "" {
				return problem
			}
			*path = (*path)[:len(*path)-1]
		}
	case ast.Scalar:
		return checkScalar(def.Name, value)
	}
	return ""
}

// checkScalar returns what is wrong with value as an input of the built-in
// scalar named name or of Time (gqlmarshal.UnmarshalTime), or "". Numbers are
// json.Number as sent, or int64 and float64 where gqlparser converted a
// variable of type Int or Float (and in default values).
func checkScalar(name string, value any) string {
	f, isNumber := number(value)
	switch name {
	case "String":
		if _, ok := value.(string); !ok {
			return "String expects a string"
		}
	case "Boolean":
		if _, ok := value.(bool); !ok {
			return "Boolean expects true or false"
		}
	case "Int":
		// (gqlparser refuses a fraction; not the range.)
		if !isNumber || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return "Int expects a whole number from -2147483648 to 2147483647"
		}
	case "Float":
		if !isNumber {
			return "Float expects a number"
		}
	case "ID":
		if _, ok := value.(string); !ok && (!isNumber || f != math.Trunc(f)) {
			return "ID expects a string or a whole number"
		}
	case "Time":
		if _, err := gqlmarshal.UnmarshalTime(value); err != nil {
			return "Time expects a date and time in RFC 3339 with its offset, such as 2026-01-31T09:30:00Z"
		}
	}
	return ""
}

// number returns value as a float64, and whether it is a finite number.
func number(value any) (float64, bool) {
	switch n := value.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, !math.IsInf(n, 0) && !math.IsNaN(n)
	}
	return 0, false
}

// gqlparserKindMismatch is gqlparser's refusal of a variable's value whose
// JSON type its own coercion does not take ("cannot use slice as String",
// "cannot use map as Int"), in Go's words.
var gqlparserKindMismatch = regexp.MustCompile(`^cannot use (?:value )?\S+ as (\w+)$`)

// inTheSpecsWords returns gqlparser's refusal of a variable's value, at
// path, in strictVariables' words ("Variable "$q" has an invalid value:
// String expects a string"), and any other message as it is.
func inTheSpecsWords(message string, path ast.Path) string {
	m := gqlparserKindMismatch.FindStringSubmatch(message)
	if m == nil || len(path) < 2 || path[0] != ast.PathName("variable") {
		return message
	}
	name, ok := path[1].(ast.PathName)
	sentence := checkScalar(m[1], struct{}{}) // what a value of no JSON type the scalar takes is told
	if !ok || sentence == "" {
		return message
	}
	return fmt.Sprintf("Variable \"$%s\" has an invalid value: %s", name, sentence)
}
