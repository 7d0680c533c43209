package stepup

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// Log field helpers keep field names consistent (snake_case) across events.
// None of them ever receives a token, code, cookie or secret.

func logRule(name string) zap.Field { return zap.String("rule", name) }
func logACR(acr string) zap.Field   { return zap.String("acr", acr) }
func logAMR(amr []string) zap.Field { return zap.String("amr", strings.Join(amr, " ")) }

// logSession describes the session a decision saw (none: no fields), so
// an audit event says why it fell short: the acr, amr and auth_time (Unix
// seconds) it had. The names match the "step-up completed" event's.
func logSession(s *session.Session) []zap.Field {
	if s == nil {
		return nil
	}
	fields := []zap.Field{logACR(s.ACR), logAMR(s.AMR)}
	if !s.AuthTime.IsZero() {
		fields = append(fields, zap.Int64("auth_time", s.AuthTime.Unix()))
	}
	return fields
}

// logRiskOf adds the request's risk score and each signal's points when the
// risk engine scored it (the values of its placeholders), with the names
// the "request denied" event uses.
func logRiskOf(h *Handler, repl *caddy.Replacer) []zap.Field {
	if h.risk == nil {
		return nil
	}
	score, _ := repl.GetString("http.stepup.risk.score")
	if score == "" {
		return nil
	}
	reasons, _ := repl.GetString("http.stepup.risk.reasons")
	n, _ := strconv.Atoi(score)
	return []zap.Field{zap.Int("risk_score", n), zap.String("risk_reasons", reasons)}
}

// logSubject includes the subject only where log_subjects allows it.
func logSubject(h *Handler, sub string) zap.Field {
	if !h.LogSubjects {
		return zap.Skip()
	}
	return zap.String("subject", sub)
}

// logClientIP includes Caddy's client IP (trusted_proxies aware) only where
// log_client_ips allows it.
func logClientIP(h *Handler, r *http.Request) zap.Field {
	if !h.LogClientIPs {
		return zap.Skip()
	}
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	return zap.String("client_ip", ip)
}

// logRequest identifies the request without its query string, which may
// carry codes or state.
func logRequest(r *http.Request) zap.Field {
	return zap.Dict("request",
		zap.String("id", requestID(r)),
		zap.String("method", r.Method),
		zap.String("host", r.Host),
		zap.String("path", r.URL.Path),
	)
}

// requestID is Caddy's {http.request.uuid}, the id access logs carry too,
// so audit events and access log lines can be joined.
func requestID(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}
