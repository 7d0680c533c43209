package stepup

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// A held form is bound to the login attempt started for it: the record
// keeps the hash of that attempt's state, and only that attempt's
// successful callback hands the browser a proof of it (sealed, so any
// replica can check it), carried to the confirmation page and its form.
// A held form cannot be sent after another login, such as one started at
// the login endpoint with the confirmation page as its return path.
const heldFlowPurpose = "held-flow"

// heldFlowProof says: the attempt with state Flow, started for the held
// form ID, completed for Subject.
type heldFlowProof struct {
	ID      string `json:"i"`
	Flow    string `json:"f"`
	Subject string `json:"s"`
	Expires int64  `json:"e"` // unix seconds
}

// afterLogin is where the completed attempt f sends the browser: its
// return path, with the proof for a held form's confirmation page.
func (h *Handler) afterLogin(ctx context.Context, f *flowState, s *session.Session) string {
	to := safeReturnPath(f.ReturnTo, "/")
	if f.Held == "" {
		return to
	}
	u, err := url.Parse(to)
	if err != nil || u.Path != h.resumePath() || u.RawQuery == "" {
		return to
	}
	plain, _ := json.Marshal(heldFlowProof{ID: u.Query().Get("id"), Flow: f.Held, Subject: s.Subject, Expires: h.now().Add(h.holdLifetime()).Unix()})
	proof, err := h.sealer.Seal(ctx, heldFlowPurpose, plain)
	if err != nil {
		// The confirmation page will refuse; the login itself stands.
		h.logger.Warn("held form: sealing the login's proof failed", zap.Error(err))
		return to
	}
	// Appended, not re-encoded: the id stays first, as the login had it.
	// The proof is base64url, safe in a query.
	return to + "&flow=" + proof
}

var errOtherFlow = errors.New("held form: not the login attempt started for it")

// checkHeldFlow checks that proof comes from the attempt hr was held
// for, completed by the user s.
func (h *Handler) checkHeldFlow(ctx context.Context, id, proof string, hr *heldRequest, s *session.Session) error {
	if proof == "" || len(hr.Flow) == 0 {
		return errOtherFlow
	}
	plain, err := h.sealer.Open(ctx, heldFlowPurpose, proof)
	if err != nil {
		return errOtherFlow
	}
	var p heldFlowProof
	if json.Unmarshal(plain, &p) != nil || h.now().Unix() > p.Expires ||
		!constantTimeEqual(p.ID, id) || !constantTimeEqual(string(flowHash(p.Flow)), string(hr.Flow)) ||
		!constantTimeEqual(p.Subject, s.Subject) {
		return errOtherFlow
	}
	return nil
}

// heldFlowParam is the proof as the request carries it: in the page's
// query, or in the confirmation form (parsed by then).
func heldFlowParam(r *http.Request) string {
	if r.Method == http.MethodPost {
		return r.PostForm.Get("flow")
	}
	return r.URL.Query().Get("flow")
}
