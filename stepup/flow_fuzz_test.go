package stepup

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// fuzzFlowHandler is just enough of a handler for readFlow: the fixed-key
// sealer, the clock and the cookie names Provision would set.
func fuzzFlowHandler(tb testing.TB) *Handler {
	return &Handler{
		CallbackPath: "/.stepup/callback",
		sealer:       fuzzSealer(tb),
		now:          func() time.Time { return fuzzEpoch },
		cookies:      session.NewCookies(session.Names{Session: "stepup_session", FlowPrefix: flowCookiePrefix}, false),
	}
}

func callbackRequest(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://site.example/.stepup/callback?code=c&state=s", nil)
	if cookie != "" {
		r.Header["Cookie"] = []string{cookie}
	}
	return r
}

// FuzzReadFlow looks up the flow cookie for a callback's state in an
// arbitrary Cookie header: it never panics, fails only with errFlow, and
// what it returns belongs to that very state and is still fresh.
func FuzzReadFlow(f *testing.F) {
	h := fuzzFlowHandler(f)
	f.Fuzz(func(t *testing.T, state, cookie string) {
		fl, err := h.readFlow(context.Background(), callbackRequest(cookie), state)
		checkReadFlow(t, h, state, fl, err)
	})
}

// FuzzReadFlowPlaintext seals arbitrary bytes as a flow cookie (as only a key
// holder could) to reach the JSON decoding behind the seal: no panic, no
// flow for another state, and a well-formed fresh flow for a state that a
// browser can carry in a cookie name is found.
func FuzzReadFlowPlaintext(f *testing.F) {
	h := fuzzFlowHandler(f)
	f.Fuzz(func(t *testing.T, plain []byte, state string) {
		sealed, err := h.sealer.Seal(context.Background(), flowPurpose, plain)
		if err != nil {
			t.Fatal(err)
		}
		id := state
		if len(id) > flowNameIDLen {
			id = id[:flowNameIDLen]
		}
		r := callbackRequest("other=1; " + h.cookies.Prefixed.FlowPrefix + id + "=" + sealed)
		fl, err := h.readFlow(context.Background(), r, state)
		checkReadFlow(t, h, state, fl, err)

		var want flowState
		if err != nil && json.Unmarshal(plain, &want) == nil && want.Version == flowVersion && want.State == state && tokenState.MatchString(state) &&
			len(state) <= 128 && len(sealed) <= session.MaxSealedLen && fuzzEpoch.Sub(time.Unix(want.Started, 0)) <= flowLifetime {
			t.Fatalf("a fresh flow sealed for state %q was not found: %v", state, err)
		}
	})
}

// tokenState is the shape of the states we generate (newFlowState): a
// slot digit, then randomToken.
var tokenState = regexp.MustCompile(`^[0-3][A-Za-z0-9_-]{15,}$`)

func checkReadFlow(t *testing.T, h *Handler, state string, fl *flowState, err error) {
	t.Helper()
	if err != nil {
		if fl != nil {
			t.Fatalf("error %v with a flow", err)
		}
		if !errors.Is(err, errFlow) {
			t.Fatalf("readFlow failed with %v, want errFlow", err)
		}
		return
	}
	if fl.State != state {
		t.Fatalf("flow for state %q returned for state %q", fl.State, state)
	}
	if age := fuzzEpoch.Sub(time.Unix(fl.Started, 0)); age > flowLifetime {
		t.Fatalf("returned a flow started %v ago", age)
	}
}

// sealedFlow is the Cookie header pair startLogin would set for f.
func sealedFlow(t *testing.T, h *Handler, f flowState) string {
	plain, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := h.sealer.Seal(context.Background(), flowPurpose, plain)
	if err != nil {
		t.Fatal(err)
	}
	return h.cookies.Prefixed.FlowPrefix + f.State[:flowNameIDLen] + "=" + sealed
}

func seedFlow() flowState {
	return flowState{
		Version: flowVersion, ACR: []string{"urn:otp"},
		State: "0m9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0", Nonce: "bm9uY2Vub25jZW5vbmNl", Verifier: "dmVyaWZpZXJ2ZXJpZmllcnZlcmlmaWVy",
		ReturnTo: "/admin?tab=users", Rule: "admin", MaxAge: 300, Started: fuzzEpoch.Unix() - 60,
	}
}

func readFlowSeeds(t *testing.T) []fuzzSeed {
	h := fuzzFlowHandler(t)
	fl := seedFlow()
	cookie := sealedFlow(t, h, fl)
	stepUp := fl
	stepUp.State, stepUp.Subject, stepUp.MaxAge = "13RlcHVwc3RlcHVwc3RlcHVwc3RlcHVw", "alice", -1
	expired := fl
	expired.State, expired.Started = "2XhwaXJlZGV4cGlyZWRleHBpcmVkZXhw", fuzzEpoch.Add(-flowLifetime-time.Second).Unix()
	sameIDOtherState := fl
	sameIDOtherState.State = fl.State[:flowNameIDLen] + "-another-attempt"
	return []fuzzSeed{
		{"valid-only-cookie", []any{fl.State, cookie}},
		{"valid-among-others", []any{fl.State, "theme=dark; __Host-stepup_session=abc; " + cookie + "; lang=en"}},
		{"valid-step-up", []any{stepUp.State, sealedFlow(t, h, stepUp)}},
		{"expired", []any{expired.State, sealedFlow(t, h, expired)}},
		{"same-name-other-state", []any{fl.State, sealedFlow(t, h, sameIDOtherState)}},
		{"state-too-short", []any{fl.State[:minStateLen-1], cookie}},
		{"state-without-a-slot", []any{"Z" + fl.State[1:], "__Secure-stepup_flow_Z" + cookie[len(h.cookies.Prefixed.FlowPrefix)+flowNameIDLen:]}},
		{"no-cookie", []any{fl.State, ""}},
		{"plain-name-over-https", []any{fl.State, flowCookiePrefix + cookie[len(h.cookies.Prefixed.FlowPrefix):]}},
		{"quoted-value", []any{fl.State, h.cookies.Prefixed.FlowPrefix + fl.State[:flowNameIDLen] + `="` + cookie[len(h.cookies.Prefixed.FlowPrefix)+flowNameIDLen+1:] + `"`}},
	}
}

func readFlowAccepts(t *testing.T, args []any) bool {
	h := fuzzFlowHandler(t)
	_, err := h.readFlow(context.Background(), callbackRequest(args[1].(string)), args[0].(string))
	return err == nil
}

func flowPlaintextSeeds(t *testing.T) []fuzzSeed {
	fl := seedFlow()
	plain, err := json.Marshal(fl)
	if err != nil {
		t.Fatal(err)
	}
	return []fuzzSeed{
		{"valid-flow", []any{plain, fl.State}},
		{"valid-extra-fields", []any{[]byte(`{"e":2,"s":"` + fl.State + `","t":1799999990,"x":[1,{"y":null}],"m":-1}`), fl.State}},
		{"other-state", []any{plain, "b3RoZXJvdGhlcm90aGVyb3RoZXI"}},
		{"state-case", []any{[]byte(`{"S":"` + fl.State + `","t":1800000000}`), fl.State}},
		{"huge-started", []any{[]byte(`{"s":"` + fl.State + `","t":9223372036854775807}`), fl.State}},
		{"float-started", []any{[]byte(`{"s":"` + fl.State + `","t":1.8e9}`), fl.State}},
		{"null", []any{[]byte("null"), fl.State}},
		{"not-json", []any{[]byte("\x00\xff{"), fl.State}},
	}
}

func flowPlaintextAccepts(t *testing.T, args []any) bool {
	h := fuzzFlowHandler(t)
	plain, state := args[0].([]byte), args[1].(string)
	sealed, err := h.sealer.Seal(context.Background(), flowPurpose, plain)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.readFlow(context.Background(), callbackRequest(h.cookies.Prefixed.FlowPrefix+state[:flowNameIDLen]+"="+sealed), state)
	return err == nil
}
