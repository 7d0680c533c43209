package stepup

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// The edge signs assertionClaims; upstreams decode them with verify.Claims.
// The verify module must not depend on Caddy (or on this module), so the two
// cannot be one type: this test holds them to the same fields, JSON names
// and types, so a claim added on one side only fails here rather than
// silently never reaching an upstream.
func TestAssertionClaimsMatchTheVerifyModulesClaims(t *testing.T) {
	path := filepath.Join("..", "verify", "verify.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	verifyFields := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.TypeSpec)
		if !ok || spec.Name.Name != "Claims" {
			return true
		}
		for _, field := range spec.Type.(*ast.StructType).Fields.List {
			tag, _ := strconv.Unquote(field.Tag.Value)
			for _, name := range field.Names {
				verifyFields[name.Name] = types.ExprString(field.Type) + " " + reflect.StructTag(tag).Get("json")
			}
		}
		return false
	})
	if len(verifyFields) == 0 {
		t.Fatalf("no Claims struct in %s", path)
	}
	ours := map[string]string{}
	typ := reflect.TypeFor[assertionClaims]()
	for i := range typ.NumField() {
		field := typ.Field(i)
		ours[field.Name] = field.Type.String() + " " + field.Tag.Get("json")
	}
	for name, want := range ours {
		if got, ok := verifyFields[name]; !ok || got != want {
			t.Errorf("assertion claim %s is %q here, %q in verify.Claims", name, want, got)
		}
	}
	for name, got := range verifyFields {
		if _, ok := ours[name]; !ok {
			t.Errorf("verify.Claims has %s (%s), which the edge never signs", name, got)
		}
	}
}
