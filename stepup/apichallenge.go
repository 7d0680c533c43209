package stepup

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// challengeBody is the JSON answer to an API client that must step up.
type challengeBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ACRValues        string `json:"acr_values,omitempty"`
	MaxAge           *int64 `json:"max_age,omitempty"`
	StepUpURL        string `json:"step_up_url"`
}

// RFC 9470 and RFC 6750 error codes.
const (
	errInsufficientAuth = "insufficient_user_authentication"
	errInvalidToken     = "invalid_token"
)

// writeAPIChallenge answers 401 with an RFC 9470 WWW-Authenticate challenge
// and a small JSON body carrying the URL a browser can open to step up
// (also in {http.stepup.step_up_url}, for handle_errors).
func (h *Handler) writeAPIChallenge(w http.ResponseWriter, r *http.Request, req *decision.Requirement, code, description string) error {
	w.Header().Set("WWW-Authenticate", authenticateHeader(code, description, req))
	w.Header().Set("Cache-Control", "no-store")
	body := challengeBody{Error: code, ErrorDescription: description, ACRValues: req.ACRValues, StepUpURL: h.stepUpURL(r, req)}
	if req.HasMaxAge {
		sec := int64(req.MaxAge / time.Second)
		body.MaxAge = &sec
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.stepup.step_up_url", body.StepUpURL)
	}
	return h.refuse(w, r, refusal{status: http.StatusUnauthorized, code: code, description: description, json: body})
}

// authenticateHeader renders `Bearer error="…", error_description="…",
// acr_values="…", max_age=N`. Values are reduced to the characters RFC 6750
// allows inside the quoted strings, so nothing can break out of the header.
func authenticateHeader(code, description string, req *decision.Requirement) string {
	var b strings.Builder
	b.WriteString(`Bearer error="`)
	b.WriteString(quotedSafe(code))
	b.WriteString(`", error_description="`)
	b.WriteString(quotedSafe(description))
	b.WriteByte('"')
	if req != nil && req.ACRValues != "" {
		b.WriteString(`, acr_values="`)
		b.WriteString(quotedSafe(req.ACRValues))
		b.WriteByte('"')
	}
	if req != nil && req.HasMaxAge {
		b.WriteString(", max_age=")
		b.WriteString(req.MaxAgeSec)
	}
	return b.String()
}

// quotedSafe keeps %x20-21 / %x23-5B / %x5D-7E, the RFC 6750 set for
// error_description, which also excludes the quote and backslash.
func quotedSafe(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b = append(b, c)
		}
	}
	return string(b)
}

// stepUpURL is our login endpoint for the rule. It returns to the current
// page for reads; a write is never replayed, so it returns to the page the
// write came from (a same-origin Referer) or the site root.
func (h *Handler) stepUpURL(r *http.Request, req *decision.Requirement) string {
	ret := "/"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		ret = safeReturnPath(r.URL.RequestURI(), "/")
	} else if ref, err := url.Parse(r.Referer()); err == nil && ref.Scheme+"://"+ref.Host == h.origin(r) {
		ret = safeReturnPath(ref.RequestURI(), "/")
	}
	q := url.Values{"return_to": {ret}}
	if req.Name != decision.DefaultName {
		q.Set("rule", req.Name)
	}
	return h.origin(r) + h.LoginPath + "?" + q.Encode()
}
