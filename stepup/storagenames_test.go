package stepup

import (
	"context"
	"fmt"
	"strings"

	"github.com/caddyserver/certmagic"
)

// objectNameStorage refuses keys with upper-case letters, as a storage that
// maps keys onto Kubernetes object names does: the ingress controller keeps
// Caddy's storage in Secrets, and a Secret's name must be a lower-case DNS
// subdomain (the controller folds other characters into '.', not case).
// Every unit test's storage is wrapped in it, so any key the handler writes
// with upper case fails the test that writes it.
type objectNameStorage struct{ certmagic.Storage }

func checkObjectName(key string) error {
	if strings.ToLower(key) != key {
		return fmt.Errorf("storage key %q: upper case cannot become a Kubernetes object name", key)
	}
	return nil
}

func (s objectNameStorage) Store(ctx context.Context, key string, value []byte) error {
	if err := checkObjectName(key); err != nil {
		return err
	}
	return s.Storage.Store(ctx, key, value)
}

func (s objectNameStorage) Lock(ctx context.Context, name string) error {
	if err := checkObjectName(name); err != nil {
		return err
	}
	return s.Storage.Lock(ctx, name)
}
