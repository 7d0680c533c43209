package risk

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

func init() {
	caddy.RegisterModule(scoreSetter{})
}

// scoreSetter stands in for the stepup handler: it sets the score variable
// from the request's ?score= parameter.
type scoreSetter struct{}

func (scoreSetter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.stepup_risk_test_score", New: func() caddy.Module { return new(scoreSetter) }}
}

func (scoreSetter) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if s := r.URL.Query().Get("score"); s != "" {
		n, _ := strconv.Atoi(s)
		caddyhttp.SetVar(r.Context(), ScoreVar, n)
	}
	return next.ServeHTTP(w, r)
}

// Through a real Caddy: a route after the scoring handler sees the score,
// because Caddy evaluates each route's matchers when the request reaches it.
func TestStepupRiskMatchesInARealCaddyRouteAfterTheHandler(t *testing.T) {
	addr := freeport.Addr()
	cfg := fmt.Sprintf(`{
		"admin": {"disabled": true},
		"logging": {"logs": {"default": {"level": "ERROR"}}},
		"storage": {"module": "file_system", "root": %q},
		"apps": {"http": {"servers": {"test": {
			"listen": [%q],
			"routes": [
				{"handle": [{"handler": "stepup_risk_test_score"}]},
				{"match": [{"stepup_risk": {"above": 60}}], "handle": [{"handler": "static_response", "status_code": 403, "body": "risky"}]},
				{"handle": [{"handler": "static_response", "body": "ok"}]}
			]
		}}}}
	}`, t.TempDir(), addr)
	if err := caddy.Load([]byte(cfg), true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caddy.Stop() })
	tests := []struct {
		query string
		want  string
	}{
		{"?score=61", "403 risky"},
		{"?score=60", "200 ok"},
		{"", "200 ok"},
	}
	for _, tt := range tests {
		t.Run("score"+tt.query, func(t *testing.T) {
			resp, err := http.Get("http://" + addr + "/" + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := fmt.Sprintf("%d %s", resp.StatusCode, body); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
