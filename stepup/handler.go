// Package stepup is a Caddy HTTP handler that demands a stronger or fresher
// OpenID Connect login for sensitive requests and lets everything else pass.
package stepup

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/regulation"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("stepup", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("stepup", httpcaddyfile.Before, "basic_auth")
}

// Handler demands OpenID Connect step-up authentication for the requests its
// rules match. Requests no rule covers pass untouched (unless
// `require_login` is `all`); requests with a sufficient session pass with
// identity placeholders set; others are sent to the IdP (browser
// navigations) or answered with an RFC 9470 challenge (API clients).
//
// Placeholders set on requests that pass a check:
//
//	{http.auth.user.id}         the session's subject
//	{http.auth.user.acr}        its acr
//	{http.auth.user.amr}        its amr values, space separated
//	{http.auth.user.auth_time}  unix seconds of the last IdP authentication
//	{http.stepup.rule}          the rule that matched (`default` for require_login all)
//	{http.stepup.result}        pass, challenge, denied
//	{http.stepup.reason}        why a request was challenged (no_session, acr, amr, max_age)
type Handler struct {
	// Provider is the OpenID Provider that performs logins.
	Provider ProviderConfig `json:"provider"`

	// RequireLogin is `rules` (only requests a rule matches need a session)
	// or `all` (every request needs a session; rules may demand more).
	// Default: `rules`.
	RequireLogin string `json:"require_login,omitempty"`

	// ACRLevels ranks acr values from weakest to strongest, so that a
	// stronger acr satisfies a rule asking for a weaker one.
	ACRLevels []string `json:"acr_levels,omitempty"`

	// Rules are tried in order; the first that matches a request decides
	// what that request needs.
	Rules []*Rule `json:"rules,omitempty"`

	// Risk scores every request from request-time signals (IP reputation,
	// location, request frequency, new device). Above its step_up threshold
	// a request needs the risk block's acr/max_age; above deny it is
	// refused. See docs/risk.md. Default: off.
	Risk *risk.Config `json:"risk,omitempty"`

	// Session configures the session cookie and its keys.
	Session *SessionConfig `json:"session,omitempty"`

	// CallbackPath is where the IdP returns the browser after a login. The
	// handler serves it whatever the rules match; register
	// `https://<host><callback_path>` at the IdP. Default: `/.stepup/callback`.
	CallbackPath string `json:"callback_path,omitempty"`

	// LoginPath starts a login from a link: `?rule=<name>&return_to=<path>`.
	// API challenges point browsers here. Default: `/.stepup/login`.
	LoginPath string `json:"login_path,omitempty"`

	// LogoutPath clears the session on a same-origin POST; a GET shows a
	// confirmation form. Default: `/.stepup/logout`.
	LogoutPath string `json:"logout_path,omitempty"`

	// BackchannelLogoutPath receives OpenID Connect Back-Channel Logout
	// requests: the IdP POSTs a signed logout_token, and the sessions it
	// names (by sid, or every session of its sub) are revoked on every
	// replica sharing the state store. Register
	// `https://<host><backchannel_logout_path>` as the client's
	// backchannel_logout_uri at the IdP. Default: off.
	BackchannelLogoutPath string `json:"backchannel_logout_path,omitempty"`

	// PostLogoutRedirect is the same-site path a browser lands on after
	// logout. Default: `/`.
	PostLogoutRedirect string `json:"post_logout_redirect,omitempty"`

	// IdPLogout also ends the session at the IdP through its
	// end_session_endpoint, when it advertises one. Default: false.
	IdPLogout bool `json:"idp_logout,omitempty"`

	// BearerAudiences enables `Authorization: Bearer <JWT>` access tokens
	// issued by the provider: a token is accepted when its `aud` names one of
	// these. Default: bearer tokens are not accepted.
	BearerAudiences []string `json:"bearer_audiences,omitempty"`

	// InsecureBearerUntyped accepts bearer JWTs whose header is not typed
	// `at+jwt` (RFC 9068), for IdPs that do not type their access tokens.
	// Without the type, an ID token is told from an access token only by
	// its claims (an audience in bearer_audiences, no nonce, no at_hash), so
	// keep the IdP's client ids out of bearer_audiences. Default: false
	// (only `at+jwt` and `application/at+jwt` are accepted).
	InsecureBearerUntyped bool `json:"insecure_bearer_untyped,omitempty"`

	// UpstreamHeaders are set on requests that pass a check, after deleting
	// any client-supplied header of the same name. Values may use
	// placeholders, e.g. `X-User: {http.auth.user.id}`.
	UpstreamHeaders map[string]string `json:"upstream_headers,omitempty"`

	// StripHeaders are deleted from every incoming request, so upstreams can
	// trust identity headers only when stepup set them.
	StripHeaders []string `json:"strip_headers,omitempty"`

	// KeepCookies leaves stepup's cookies in the request sent upstream.
	// Default: false (they are removed; upstreams never need them).
	KeepCookies bool `json:"keep_cookies,omitempty"`

	// ReportOnly evaluates every request, logs and counts what would happen,
	// but enforces nothing: requests that fall short pass (without identity
	// unless they carry a valid session). For rolling out a policy safely;
	// rules can also be report-only one by one. Default: false.
	ReportOnly bool `json:"report_only,omitempty"`

	// LogSubjects adds the user's subject to step-up log events. Default:
	// false, since a subject is personal data.
	LogSubjects bool `json:"log_subjects,omitempty"`

	// LogClientIPs adds the client IP to step-up log events. Default: false.
	LogClientIPs bool `json:"log_client_ips,omitempty"`

	// Assertion signs, for every request that passes with an identity, a
	// short-lived JWS the upstream verifies against the keys published at
	// its jwks_path, so that upstreams need not trust plain headers.
	// Default: off.
	Assertion *AssertionConfig `json:"assertion,omitempty"`

	// State is where state shared by replicas lives: revocations, single-use
	// passes and logout tokens. `memory` keeps it in this process; `redis`
	// shares it through a Redis or Valkey server. See the README's "Shared
	// state" section for what each use does when the server is down.
	// Default: memory.
	State *state.Config `json:"state,omitempty"`

	// Regulation bounds step-up attempts that do not complete, per subject
	// and per client IP (see RegulationConfig). Default: off.
	Regulation *RegulationConfig `json:"regulation,omitempty"`

	// InsecureLoopbackHTTP allows, for local development only, an issuer
	// and a site on plain HTTP at 127.0.0.1, ::1 or localhost: on plain-HTTP
	// requests whose Host is one of those, cookies lose their Secure flag
	// and `__Host-`/`__Secure-` prefixes and the redirect URI is http://.
	// Plain-HTTP requests for any other host are treated as without it.
	// Never use it in production; a warning is logged at start.
	InsecureLoopbackHTTP bool `json:"insecure_loopback_http,omitempty"`

	// HoldMaxBody is the largest body, in bytes, of a same-origin browser
	// form submission (POST, PUT, PATCH) that is held across a step-up and
	// offered for sending after the login, instead of refused. Larger ones
	// get the 401 challenge. 0 turns holding off; at most 1 MiB.
	// Default: 65536.
	HoldMaxBody *int64 `json:"hold_max_body,omitempty"`

	// HoldLifetime is how long a held form waits for the login and the
	// user's confirmation: 1s to 5m. Default: 5m.
	HoldLifetime caddy.Duration `json:"hold_lifetime,omitempty"`

	idp              *provider.Client
	sealer           *session.Sealer // seals the session, flow and hold values
	scopes           []string
	clientSecret     string
	sessionLifetime  time.Duration
	cookies          *session.Cookies
	policy           *decision.Policy // rules, the base login and the risk step-up, compiled
	keyringKey       string           // in keyrings; "" when the keyring is private
	assertionKeysKey string           // in assertionKeyrings; "" when private
	risk             *risk.Engine
	riskConfig       risk.Config // with defaults applied
	stripHeaders     []string
	stripFolded      map[string]bool // stripHeaders folded as CGI would
	upstream         []upstreamHeader
	sessions         *session.Store
	bearers          *bearerCache
	logger           *zap.Logger
	outageLog        *logThrottle // refusals during an IdP outage
	freshPasses      freshPassLedger
	freshPassLog     *logThrottle // refused passes when the ledger cannot record
	metrics          *stepupMetrics
	asserter         *asserter // nil without an assertion block
	store            *state.Store
	storeKey         string
	regulator        *regulation.Regulator
	held             *holdState // held forms (heldsweep.go)

	// decided, when set, is shown every decision before it is acted on:
	// the explain command's probe records it (explainprobe.go).
	decided func(decision.Decision)

	// Taken from the surroundings at provision (provisionEnv).
	now     func() time.Time  // the clock
	storage certmagic.Storage // where keys and held forms live
}

// SessionConfig configures the session cookie.
type SessionConfig struct {
	// CookieName names the session cookie; `__Host-` is prefixed on HTTPS.
	// Default: `stepup`.
	CookieName string `json:"cookie_name,omitempty"`

	// Lifetime is how long a session lasts after its latest login, at most
	// 30 days. Default: 12h.
	Lifetime caddy.Duration `json:"lifetime,omitempty"`

	// KeyRotation is how often a new cookie key is created in Caddy's
	// storage; older keys keep decrypting for 30 days. Default: 24h.
	KeyRotation caddy.Duration `json:"key_rotation,omitempty"`
}

// Defaults.
const (
	defaultCallbackPath    = "/.stepup/callback"
	defaultLoginPath       = "/.stepup/login"
	defaultLogoutPath      = "/.stepup/logout"
	defaultCookieName      = "stepup"
	defaultSessionLifetime = 12 * time.Hour
	defaultKeyRotation     = 24 * time.Hour
)

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.stepup",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
