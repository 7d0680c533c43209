package translate_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// TestEveryKeyHasAnInvalidCase keeps the golden table honest as keys are
// added: each key needs at least one case proving a bad value closes the route.
func TestEveryKeyHasAnInvalidCase(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range goldenCases() {
		for _, k := range tc.invalid {
			covered[k] = true
		}
	}
	for _, k := range translate.Keys() {
		if !covered[k] {
			t.Errorf("no invalid-value golden case for %s%s", translate.Prefix, k)
		}
	}
}

// TestREADMEDocumentsEveryKey: the README's annotation table is the user
// manual, so it must list every key the parser knows.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range translate.Keys() {
		if !bytes.Contains(readme, []byte("`"+translate.Prefix+k+"`")) {
			t.Errorf("k8s/README.md does not document `%s%s`", translate.Prefix, k)
		}
	}
}
