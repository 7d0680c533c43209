package stepup

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every stepup handler of a config provisions, so a collector registered
// by hand in Provision is registered N times per reload: Register checks
// every descriptor and builds an AlreadyRegistered error each time, which
// was a large share of a 1,000-handler reload (issue 19). Collectors go
// through internal/promreg.Once (once per config registry). This fails on
// the hand-rolled pattern — Register, then tolerating AlreadyRegisteredError
// — anywhere in stepup's code.
func TestCollectorsAreRegisteredOncePerConfig(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "AlreadyRegisteredError") {
			t.Errorf("%s registers Prometheus collectors by hand (AlreadyRegisteredError): use a promreg.Once so that a config's handlers register them once, not once each", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
