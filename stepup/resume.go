package stepup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// A browser form submission that falls short of a rule is held, not
// refused: its method, path, content type and body are sealed with the
// cookie keys and kept in Caddy's storage (shared by replicas) for
// hold_lifetime. After the login the user confirms on a page of ours
// (resumepage.go, resumeconfirm.go) before anything reaches the upstream.
const (
	defaultHoldMaxBody = 64 << 10
	// defaultHoldLifetime is the default and the longest hold_lifetime: the
	// sweep, the per-client bounds and the hold cookie count on it.
	defaultHoldLifetime = 5 * time.Minute
	minHoldLifetime     = time.Second
	holdPurpose         = "held"
	holdClaimUse        = "held"
	holdStoragePrefix   = "stepup/held/"
	holdCookieName      = "stepup_hold"
	defaultResumePath   = "/.stepup/resume"
	// maxHeldSealed bounds what is opened from storage: the cap plus the
	// record's other fields, base64-encoded.
	maxHeldSealed = 4 * (defaultHoldMaxBody*16 + 8192) / 3
)

// heldRequest is one held form submission as sealed in storage.
type heldRequest struct {
	Method      string `json:"m"`
	Path        string `json:"p"`
	Query       string `json:"q,omitempty"`
	ContentType string `json:"c"`
	Body        []byte `json:"b"`
	Subject     string `json:"s,omitempty"` // the session's user at hold time, if any
	Origin      string `json:"o"`           // scheme://host the form was sent to
	Browser     []byte `json:"w"`           // SHA-256 of the browser's hold cookie
	Slot        string `json:"k"`           // names that cookie: its login's slot (holdBrowser)
	Token       string `json:"t"`           // the confirmation form's one-time token
	Rule        string `json:"r"`
	Flow        []byte `json:"l"` // SHA-256 of the state of the login started for it (resumeflow.go)
	Expires     int64  `json:"e"` // unix seconds
}

var errNotHeld = errors.New("held form unknown, expired or used")

// holdMaxBody is the body cap; 0 means holding is off.
func (h *Handler) holdMaxBody() int64 {
	if h.HoldMaxBody == nil {
		return defaultHoldMaxBody
	}
	return *h.HoldMaxBody
}

// holdLifetime is how long a held form waits for its login and
// confirmation.
func (h *Handler) holdLifetime() time.Duration {
	if h.HoldLifetime == 0 {
		return defaultHoldLifetime
	}
	return time.Duration(h.HoldLifetime)
}

// hold seals r with its body and stores it under id, bound to the login
// attempt with state flow and to a new hold cookie, whose value it returns
// for the caller to set once the record is stored.
func (h *Handler) hold(r *http.Request, id string, body []byte, req *decision.Requirement, s *session.Session, flow string) (cookie string, err error) {
	h.sweepHeld()
	slot := flow[:flowNameIDLen]
	cookie, browser := newHoldBrowser()
	hr := heldRequest{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"),
		Body: body, Subject: subjectOf(s), Origin: h.origin(r), Token: randomToken(), Rule: req.Name,
		Flow: flowHash(flow), Expires: h.now().Add(h.holdLifetime()).Unix(), Slot: slot, Browser: browser,
	}
	if !s.Valid(h.now()) {
		hr.Subject = ""
	}
	plain, err := json.Marshal(hr)
	if err != nil {
		return "", err
	}
	sealed, err := h.sealer.Seal(r.Context(), holdPurpose, plain)
	if err != nil {
		return "", err
	}
	return cookie, h.storage.Store(r.Context(), holdStoragePrefix+id, []byte(sealed))
}

func (h *Handler) resumePath() string { return defaultResumePath }

// newHeldID names a held form in storage: 32 random bytes in lower-case
// hex, because some storages turn the key into an object name that refuses
// upper case (the Kubernetes ingress controller keeps Caddy's storage in
// Secrets, whose names are lower-case DNS subdomains).
func newHeldID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validHeldID reports whether id has newHeldID's form.
func validHeldID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// loadHeld opens the held form id for the browser of r. Any mismatch is
// errNotHeld; the record is not consumed.
func (h *Handler) loadHeld(ctx context.Context, r *http.Request, id string) (*heldRequest, error) {
	if !validHeldID(id) {
		return nil, errNotHeld
	}
	raw, err := h.storage.Load(ctx, holdStoragePrefix+id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotHeld
	}
	if err != nil {
		return nil, err
	}
	if len(raw) > maxHeldSealed {
		return nil, errNotHeld
	}
	plain, err := h.sealer.OpenLarge(ctx, holdPurpose, string(raw))
	if errors.Is(err, session.ErrSealed) {
		return nil, errNotHeld
	}
	if err != nil {
		return nil, err
	}
	var hr heldRequest
	if json.Unmarshal(plain, &hr) != nil {
		return nil, errNotHeld
	}
	if h.now().Unix() > hr.Expires {
		h.dropHeld(ctx, id)
		return nil, errNotHeld
	}
	v, ok := session.CookieValue(r.Header, h.holdCookie(r, hr.Slot))
	sum := sha256.Sum256([]byte(v))
	if !ok || !constantTimeEqual(string(sum[:]), string(hr.Browser)) {
		return nil, errNotHeld
	}
	return &hr, nil
}

// takeHeld consumes id: true for exactly one caller across every replica
// sharing the state store; the stored copy is deleted.
func (h *Handler) takeHeld(ctx context.Context, id string) (bool, error) {
	ok, err := h.store.Claim(ctx, holdClaimUse, id, defaultHoldLifetime+time.Minute)
	if err != nil || !ok {
		return false, err
	}
	h.dropHeld(ctx, id)
	return true, nil
}

func flowHash(state string) []byte {
	sum := sha256.Sum256([]byte(state))
	return sum[:]
}
