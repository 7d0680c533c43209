package stepup

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// serveJWKS answers the JWKS document of the assertion keys: every key
// that signs or is about to, and retired keys until the assertions they
// signed have expired. Verifiers may cache it for half of the time a new
// key is published before it signs, so they hold a key before they meet it.
func (h *Handler) serveJWKS(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	a := h.asserter
	set, err := a.keys.keys(r.Context())
	if err != nil {
		h.logger.Error("assertion keys unavailable for the JWKS document", zap.Error(err))
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	body := jwksDocument(a.keys.published(set, a.now()))
	maxAge := int(a.keys.lead() / 2 / time.Second)
	hdr := w.Header()
	hdr.Set("Content-Type", "application/jwk-set+json")
	hdr.Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return nil
}

func jwksDocument(keys []*signingKey) []byte {
	var b bytes.Buffer
	b.WriteString(`{"keys":[`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(k.jwk)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}
