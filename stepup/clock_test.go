package stepup

import (
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

// clock is the settable time source the stepup packages' tests share.
type clock = testclock.Clock

func testStorage(t *testing.T) certmagic.Storage {
	return objectNameStorage{&certmagic.FileStorage{Path: t.TempDir()}}
}
