package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/secretstore"
)

// The plugin's storage keys (stepup/keyring.go, stepup/assertionkeys.go).
const (
	cookieKeysKey    = "stepup/cookie_keys.json"
	assertionKeysKey = "stepup/assertion_keys.json"
	sharedJWKSPath   = "/admin/stepup-jwks.json"
)

// storedCookieKeys is the cookie keyring as the plugin stores it: only the
// ids and creation times are read here.
type storedCookieKeys struct {
	Keys []storedCookieKey `json:"keys"`
}

type storedCookieKey struct {
	ID      uint32    `json:"id"`
	Created time.Time `json:"created"`
}

func readCookieKeys(t *testing.T) storedCookieKeys {
	t.Helper()
	s, err := cp.client.CoreV1().Secrets(controllerNS).Get(t.Context(), secretstore.SecretName(cookieKeysKey), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the cookie keys' Secret: %v", err)
	}
	var keys storedCookieKeys
	if err := json.Unmarshal(s.Data["value"], &keys); err != nil {
		t.Fatal(err)
	}
	return keys
}

// storeCookieKey stores a fresh cookie keyring of one key, in the plugin's
// format, as a replica that rotated would.
func storeCookieKey(t *testing.T, s *secretstore.Storage) storedCookieKey {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	k := storedCookieKey{ID: binary.BigEndian.Uint32(secret[:4]) | 1, Created: time.Now().UTC()}
	raw, err := json.Marshal(map[string]any{"keys": []any{map[string]any{"id": k.ID, "secret": secret, "created": k.Created}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store(t.Context(), cookieKeysKey, raw); err != nil {
		t.Fatal(err)
	}
	return k
}

// flowCookie is the "name=value" of the login attempt's flow cookie (its
// name is the prefix and one character, stepup/flow.go).
func flowCookie(t *testing.T, h http.Header) string {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if strings.HasPrefix(c.Name, "stepup_flow_") && len(c.Name) == len("stepup_flow_")+1 && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no flow cookie in %v", h.Values("Set-Cookie"))
	return ""
}

// sealedKeyID is the id of the key that sealed a cookie value (its first
// four bytes, stepup/seal.go).
func sealedKeyID(t *testing.T, cookie string) uint32 {
	t.Helper()
	_, value, _ := strings.Cut(cookie, "=")
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < 4 {
		t.Fatalf("cookie %q is not a sealed value: %v", cookie, err)
	}
	return binary.BigEndian.Uint32(raw)
}

// withAssertion adds the plugin's assertion block to the stepup handler of
// every guard route. The adapter has no annotation or config field for it;
// the block is here so that the assertion signing keys go through the
// controller's storage too.
func withAssertion(t *testing.T, routes caddyhttp.RouteList) {
	t.Helper()
	n := 0
	for i := range routes {
		for j, raw := range routes[i].HandlersRaw {
			var h map[string]any
			if err := json.Unmarshal(raw, &h); err != nil {
				t.Fatal(err)
			}
			if h["handler"] != "stepup" {
				continue
			}
			h["assertion"] = map[string]any{"audience": "web", "jwks_path": sharedJWKSPath}
			if routes[i].HandlersRaw[j], _ = json.Marshal(h); routes[i].HandlersRaw[j] == nil {
				t.Fatal("re-encoding the handler")
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no stepup handler in the routes")
	}
}

// withStorage replaces the storage block of a whole Caddy config.
func withStorage(t *testing.T, config []byte, storage any) []byte {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(config, &c); err != nil {
		t.Fatal(err)
	}
	c["storage"] = storage
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
