package session

import (
	"testing"

	"github.com/caddyserver/certmagic"
)

func testStorage(t *testing.T) certmagic.Storage {
	return &certmagic.FileStorage{Path: t.TempDir()}
}
