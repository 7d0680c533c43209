package panel

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Event is one line of Caddy's log as the panel shows it: an audit event of
// the stepup handler, or the access-log line of a request with the
// decision fields the Caddyfile appends (log_append). Nothing here is
// computed by the demo: every field is copied from what Caddy wrote.
type Event struct {
	Seq    int    `json:"seq"`
	Kind   string `json:"kind"` // "audit" or "request"
	Time   string `json:"time"`
	Msg    string `json:"msg,omitempty"`
	Level  string `json:"level,omitempty"`
	ID     string `json:"request_id,omitempty"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"` // without the query string
	Status int    `json:"status,omitempty"`
	Site   string `json:"site,omitempty"` // enforce or report_only

	Result   string `json:"result,omitempty"` // {http.stepup.result}
	Rule     string `json:"rule,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Subject  string `json:"subject,omitempty"`
	ClientIP string `json:"client_ip,omitempty"`
	ACR      string `json:"acr,omitempty"`
	AMR      string `json:"amr,omitempty"`
	AuthTime string `json:"auth_time,omitempty"`
	Score    string `json:"risk_score,omitempty"`
	Reasons  string `json:"risk_reasons,omitempty"`
	Error    string `json:"error,omitempty"`
}

// auditLine is a JSON line of the stepup_audit log.
type auditLine struct {
	Level       string          `json:"level"`
	TS          float64         `json:"ts"`
	Msg         string          `json:"msg"`
	Rule        string          `json:"rule"`
	Reason      string          `json:"reason"`
	Mode        string          `json:"mode"`
	Subject     string          `json:"subject"`
	ClientIP    string          `json:"client_ip"`
	ACR         string          `json:"acr"`
	AMR         string          `json:"amr"`
	AuthTime    json.RawMessage `json:"auth_time"`
	RiskScore   json.RawMessage `json:"risk_score"`
	RiskReasons string          `json:"risk_reasons"`
	Error       string          `json:"error"`
	Request     struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"request"`
}

func parseAudit(b []byte) (Event, bool) {
	var l auditLine
	if json.Unmarshal(b, &l) != nil || l.Msg == "" {
		return Event{}, false
	}
	return Event{
		Kind: "audit", Time: stamp(l.TS), Msg: l.Msg, Level: l.Level,
		ID: l.Request.ID, Method: l.Request.Method, Path: l.Request.Path,
		Rule: l.Rule, Reason: l.Reason, Mode: l.Mode, Subject: l.Subject, ClientIP: l.ClientIP,
		ACR: l.ACR, AMR: l.AMR, AuthTime: raw(l.AuthTime), Score: raw(l.RiskScore), Reasons: l.RiskReasons,
		Error: l.Error,
	}, true
}

// accessLine is a JSON line of the protected sites' access log.
type accessLine struct {
	TS      float64 `json:"ts"`
	Status  int     `json:"status"`
	Request struct {
		Method   string `json:"method"`
		URI      string `json:"uri"`
		ClientIP string `json:"client_ip"`
	} `json:"request"`
	Site     string `json:"demo_site"`
	ID       string `json:"request_id"`
	Result   string `json:"stepup_result"`
	Rule     string `json:"stepup_rule"`
	Reason   string `json:"stepup_reason"`
	Score    string `json:"risk_score"`
	Reasons  string `json:"risk_reasons"`
	User     string `json:"user"`
	ACR      string `json:"acr"`
	AMR      string `json:"amr"`
	AuthTime string `json:"auth_time"`
}

func parseAccess(b []byte) (Event, bool) {
	var l accessLine
	if json.Unmarshal(b, &l) != nil || l.Request.URI == "" {
		return Event{}, false
	}
	path, _, _ := strings.Cut(l.Request.URI, "?") // queries may carry codes and state
	return Event{
		Kind: "request", Time: stamp(l.TS), ID: l.ID, Method: l.Request.Method, Path: path,
		Status: l.Status, Site: l.Site, ClientIP: l.Request.ClientIP,
		Result: l.Result, Rule: l.Rule, Reason: l.Reason, Subject: l.User,
		ACR: l.ACR, AMR: l.AMR, AuthTime: l.AuthTime, Score: l.Score, Reasons: l.Reasons,
	}, true
}

// stamp formats Caddy's float Unix time as seconds with milliseconds.
func stamp(ts float64) string { return strconv.FormatFloat(ts, 'f', 3, 64) }

// raw turns a JSON number or string into its text.
func raw(m json.RawMessage) string {
	if len(m) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	return string(m)
}
