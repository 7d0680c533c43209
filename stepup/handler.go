// Package stepup is a Caddy HTTP handler that demands a stronger or fresher
// OpenID Connect login for sensitive requests and lets everything else pass.
package stepup

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
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

	idp              *idpClient
	sealer           *sealer
	levels           levels
	scopes           []string
	clientSecret     string
	sessionLifetime  time.Duration
	secureNames      cookieNames
	plainNames       cookieNames
	defaultReq       *requirement
	rules            *ruleIndex // nil: few rules, tried in turn
	keyringKey       string     // in keyrings; "" when the keyring is private
	assertionKeysKey string     // in assertionKeyrings; "" when private
	risk             *risk.Engine
	riskConfig       risk.Config // with defaults applied
	riskReq          *requirement
	sessionSeed      maphash.Seed
	stripHeaders     []string
	stripFolded      map[string]bool // stripHeaders folded as CGI would
	upstream         []upstreamHeader
	sessions         *sessionCache
	bearers          *bearerCache
	logger           *zap.Logger
	outageLog        *logThrottle // refusals during an IdP outage
	freshPasses      freshPassLedger
	freshPassLog     *logThrottle // refused passes when the ledger cannot record
	metrics          *stepupMetrics
	asserter         *asserter // nil without an assertion block
	store            *state.Store
	storeKey         string
	held             *holdState // held forms (resumelimit.go)

	// Seams for unit tests; production leaves them nil.
	now     func() time.Time
	storage certmagic.Storage
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

// Provision compiles rules and wires shared state. It does no network I/O:
// discovery and key loading happen on first use.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.outageLog = &logThrottle{every: outageLogEvery}
	h.freshPassLog = &logThrottle{every: outageLogEvery}
	h.metrics = sharedMetrics()
	if err := h.metrics.register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	realClock := h.now == nil // an injected clock (tests) keeps its keyring private
	if h.now == nil {
		h.now = time.Now
	}
	h.applyDefaults()
	repl := caddy.NewReplacer()
	h.clientSecret = repl.ReplaceKnown(h.Provider.ClientSecret, "")
	h.levels = newLevels(h.ACRLevels)
	for i, rule := range h.Rules {
		if rule == nil {
			return fmt.Errorf("rules[%d]: empty rule", i)
		}
		if rule.MatcherSetsRaw != nil {
			sets, err := ctx.LoadModule(rule, "MatcherSetsRaw")
			if err != nil {
				return fmt.Errorf("rule %q: loading matchers: %w", rule.Name, err)
			}
			if err := rule.matcherSets.FromInterface(sets); err != nil {
				return fmt.Errorf("rule %q: %w", rule.Name, err)
			}
		}
		var maxAge *time.Duration
		if rule.MaxAge != nil {
			d := time.Duration(*rule.MaxAge)
			maxAge = &d
		}
		rule.req = newRequirement(rule.Name, rule.ACR, rule.AMR, maxAge, h.levels)
		rule.req.reportOnly = rule.ReportOnly || h.ReportOnly
		rule.req.riskStepUp, rule.req.riskDeny = rule.RiskStepUp, rule.RiskDeny
	}
	h.rules = nil
	if len(h.Rules) >= ruleIndexMin {
		h.rules = newRuleIndex(h.Rules)
	}
	h.defaultReq = newRequirement(defaultRuleName, nil, nil, nil, h.levels)
	h.defaultReq.reportOnly = h.ReportOnly
	if err := h.provisionRisk(ctx); err != nil {
		return err
	}
	// Canonical names, so that stripping them is a plain map delete on
	// every request (Header.Del canonicalises each time).
	h.stripHeaders = nil
	for _, name := range h.StripHeaders {
		h.stripHeaders = append(h.stripHeaders, http.CanonicalHeaderKey(name))
	}
	for name := range h.UpstreamHeaders {
		h.stripHeaders = append(h.stripHeaders, http.CanonicalHeaderKey(name))
	}
	h.upstream = compileUpstreamHeaders(h.UpstreamHeaders)
	h.stripFolded = make(map[string]bool, len(h.stripHeaders))
	for _, name := range h.stripHeaders {
		h.stripFolded[foldHeaderName(name)] = true
	}
	h.secureNames = cookieNames{session: "__Host-" + h.Session.CookieName, flowPrefix: "__Secure-" + flowCookiePrefix, flowNext: "__Host-" + flowNextCookie, device: "__Host-" + risk.DeviceCookieName}
	h.plainNames = cookieNames{session: h.Session.CookieName, flowPrefix: flowCookiePrefix, flowNext: flowNextCookie, device: risk.DeviceCookieName}
	if h.storage == nil {
		h.storage = ctx.Storage()
	}
	ring, err := h.provisionKeyring(ctx, realClock)
	if err != nil {
		return err
	}
	h.sealer = newSealer(ring, h.Provider.Issuer+"\x00"+h.Provider.ClientID)
	h.sessions = newSessionCache(sessionCacheSize)
	h.bearers = newBearerCache(bearerCacheSize)
	idp, err := loadIdPClient(h.Provider.Issuer, h.Provider.ClientID, h.InsecureLoopbackHTTP, h.now)
	if err != nil {
		return err
	}
	passes, err := loadFreshPasses(providerKey(h.Provider.Issuer, h.Provider.ClientID, h.InsecureLoopbackHTTP))
	if err != nil {
		return err
	}
	h.freshPasses = passes
	h.idp = idp
	interval := time.Duration(h.Provider.HealthCheckInterval)
	if interval == 0 {
		interval = defaultHealthCheckInterval
	}
	h.idp.setHealthInterval(interval)
	h.provisionAssertion()
	if err := h.provisionState(ctx); err != nil {
		return err
	}
	if err := h.provisionResume(ctx); err != nil {
		return err
	}
	if h.InsecureLoopbackHTTP {
		h.logger.Warn("INSECURE: insecure_loopback_http is on; plain-HTTP cookies and issuer allowed on loopback. Never use this in production.",
			zap.String("issuer", h.Provider.Issuer))
	}
	return nil
}

func (h *Handler) applyDefaults() {
	if h.CallbackPath == "" {
		h.CallbackPath = defaultCallbackPath
	}
	if h.LoginPath == "" {
		h.LoginPath = defaultLoginPath
	}
	if h.LogoutPath == "" {
		h.LogoutPath = defaultLogoutPath
	}
	if h.PostLogoutRedirect == "" {
		h.PostLogoutRedirect = "/"
	}
	if h.Session == nil {
		h.Session = new(SessionConfig)
	}
	if h.Session.CookieName == "" {
		h.Session.CookieName = defaultCookieName
	}
	if h.Session.Lifetime == 0 {
		h.Session.Lifetime = caddy.Duration(defaultSessionLifetime)
	}
	if h.Session.KeyRotation == 0 {
		h.Session.KeyRotation = caddy.Duration(defaultKeyRotation)
	}
	h.sessionLifetime = time.Duration(h.Session.Lifetime)
	h.scopes = []string{"openid"}
	for _, s := range h.Provider.Scopes {
		if s != "openid" {
			h.scopes = append(h.scopes, s)
		}
	}
}

// Validate checks the configuration; every error names the field and the fix.
func (h *Handler) Validate() error {
	if err := h.validateProvider(); err != nil {
		return err
	}
	switch h.RequireLogin {
	case "", "rules", "all":
	default:
		return fmt.Errorf("require_login: %q is not one of rules, all", h.RequireLogin)
	}
	seen := map[string]bool{}
	for _, v := range h.ACRLevels {
		if !acrValuePattern.MatchString(v) || seen[v] {
			return fmt.Errorf("acr_levels: %q is empty, repeated or has spaces, quotes or backslashes", v)
		}
		seen[v] = true
	}
	names := map[string]bool{}
	for _, rule := range h.Rules {
		if err := rule.validate(); err != nil {
			return err
		}
		if rule.Name == riskRuleName {
			return fmt.Errorf("rule name %q is reserved for risk-based step-up; pick another", rule.Name)
		}
		if names[rule.Name] {
			return fmt.Errorf("rule %q is defined twice; rule names must be unique", rule.Name)
		}
		names[rule.Name] = true
	}
	paths := map[string]string{"callback_path": h.CallbackPath, "login_path": h.LoginPath, "logout_path": h.LogoutPath}
	if h.BackchannelLogoutPath != "" {
		paths["backchannel_logout_path"] = h.BackchannelLogoutPath
	}
	for field, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t") {
			return fmt.Errorf("%s: %q must be a plain absolute path such as /.stepup/callback", field, p)
		}
	}
	if !isSafeReturnPath(h.PostLogoutRedirect) {
		return fmt.Errorf("post_logout_redirect: %q must be a same-site absolute path", h.PostLogoutRedirect)
	}
	if h.sessionLifetime <= 0 || h.sessionLifetime > keyRetention {
		return fmt.Errorf("session lifetime: %s must be between 1s and %s", h.sessionLifetime, keyRetention)
	}
	if h.Session.KeyRotation < caddy.Duration(time.Minute) {
		return fmt.Errorf("session key_rotation: %s is shorter than 1m", time.Duration(h.Session.KeyRotation))
	}
	if h.State != nil {
		if err := h.State.Validate(); err != nil {
			return err
		}
	}
	if !cookieNamePattern.MatchString(h.Session.CookieName) {
		return fmt.Errorf("session cookie_name: %q must be letters, digits, '-' or '_'", h.Session.CookieName)
	}
	if n := h.Session.CookieName; n == risk.DeviceCookieName || strings.HasPrefix(n, flowCookiePrefix) {
		return fmt.Errorf("session cookie_name: %q is the name of one of stepup's other cookies (%s, %s…); pick another, such as %s", n, risk.DeviceCookieName, flowCookiePrefix, defaultCookieName)
	}
	if err := h.validateACRLevels(); err != nil {
		return err
	}
	return h.validateAssertion()
}

// validateACRLevels refuses, when acr_levels ranks the values, an acr a rule
// or the risk block asks for that is not ranked: a typo there is a level no
// login can reach, so the rule would silently refuse everyone.
func (h *Handler) validateACRLevels() error {
	if len(h.ACRLevels) == 0 {
		return nil
	}
	ranked := newLevels(h.ACRLevels)
	check := func(where string, acr []string) error {
		for _, v := range acr {
			if _, ok := ranked[v]; !ok {
				return fmt.Errorf("%s: acr %q is not in acr_levels (%s); fix its spelling or add it to acr_levels", where, v, strings.Join(h.ACRLevels, " "))
			}
		}
		return nil
	}
	for _, rule := range h.Rules {
		if err := check(fmt.Sprintf("rule %q", rule.Name), rule.ACR); err != nil {
			return err
		}
	}
	if h.Risk != nil {
		return check("risk", h.Risk.ACR)
	}
	return nil
}

func (h *Handler) validateProvider() error {
	p := h.Provider
	if p.Issuer == "" {
		return errors.New("provider issuer: required (the OpenID Provider's issuer URL)")
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("provider issuer: %q is not an absolute URL without query or fragment", p.Issuer)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && h.InsecureLoopbackHTTP && isLoopbackHost(u.Hostname()):
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return fmt.Errorf("provider issuer: %q is plain HTTP; use https, or for local development on loopback set insecure_loopback_http", p.Issuer)
	default:
		return fmt.Errorf("provider issuer: %q must use https", p.Issuer)
	}
	if p.ClientID == "" {
		return errors.New("provider client_id: required (this relying party's client id at the IdP)")
	}
	if p.HealthCheckInterval != 0 && time.Duration(p.HealthCheckInterval) < minHealthCheckInterval {
		return fmt.Errorf("provider health_check_interval: %s is shorter than 1s", time.Duration(p.HealthCheckInterval))
	}
	switch p.StepUpPrompt {
	case "", stepUpPromptLogin, stepUpPromptRetry:
	default:
		return fmt.Errorf("provider step_up_prompt: %q is not one of login, retry", p.StepUpPrompt)
	}
	for k := range p.AuthParams {
		if controlledParams[k] {
			return fmt.Errorf("provider auth_param %q: stepup sets this parameter itself; remove it", k)
		}
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Cleanup releases the shared provider state held for this config.
func (h *Handler) Cleanup() error {
	h.releaseKeyring()
	if h.risk != nil {
		_ = h.risk.Close()
	}
	if h.freshPasses != nil {
		_, _ = freshPassLedgers.Delete(providerKey(h.Provider.Issuer, h.Provider.ClientID, h.InsecureLoopbackHTTP))
	}
	h.releaseState()
	if h.idp != nil {
		_, err := providers.Delete(providerKey(h.Provider.Issuer, h.Provider.ClientID, h.InsecureLoopbackHTTP))
		return err
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	switch r.URL.Path {
	case h.CallbackPath:
		return h.serveCallback(w, r)
	case h.LoginPath:
		return h.serveLogin(w, r)
	case h.LogoutPath:
		return h.serveLogout(w, r)
	case h.resumePath():
		return h.serveResume(w, r, next)
	case h.BackchannelLogoutPath:
		if h.BackchannelLogoutPath != "" {
			return h.serveBackchannelLogout(w, r)
		}
	}
	if h.asserter != nil && r.URL.Path == h.asserter.jwksPath {
		return h.serveJWKS(w, r)
	}
	h.stripIdentityHeaders(r.Header)
	req, err := h.requirementFor(r)
	if err != nil {
		h.metrics.requests.WithLabelValues(outcomeError).Inc()
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	if req == nil && h.risk == nil {
		h.metrics.passedNoRule.Inc()
		h.dropOurCookies(r)
		return next.ServeHTTP(w, r)
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)

	// Credentials: a bearer token (API clients) or the session cookie.
	// On a path no rule covers, a bearer token is ours to judge only when
	// bearer tokens are enabled, and one that does not verify is ignored:
	// an upstream API there may do its own bearer auth with other tokens.
	s, bearer := (*session)(nil), false
	if token, ok := bearerToken(r); ok && (req != nil || len(h.BearerAudiences) > 0) {
		s, err = h.verifyBearer(r, token)
		switch {
		case err == nil:
			bearer = true
		case req != nil:
			return h.refuseBearer(w, r, next, repl, req, err)
		default:
			s = nil
		}
	}
	if !bearer {
		if s, err = h.checkRevoked(w, h.readSession(r), req != nil); err != nil {
			return err
		}
	}

	v := h.assessRisk(w, r, repl, req, s)
	if v.deny {
		if !h.riskReq.reportOnly {
			return h.denyRisky(w, r, repl, ruleNameOf(req), &v)
		}
		h.recordWouldDeny(r, req, &v)
	}
	if req != nil {
		if reason := req.check(s, h.now(), h.levels); reason != "" {
			return h.fallShort(w, r, next, repl, req, s, reason, bearer, describe(reason, req))
		}
	}
	if v.stepUp {
		if reason := h.riskReq.check(s, h.now(), h.levels); reason != "" {
			return h.fallShort(w, r, next, repl, h.riskReq, s, riskRuleName, bearer, h.describeRisk(&v, reason, h.riskReq), riskLogFields(&v)...)
		}
	}
	if fresh := h.freshPassFor(req, v.stepUp || h.spendsRiskPass(s)); fresh != nil && !bearer {
		ok, err := h.spendFreshPass(w, r, s)
		if err != nil {
			return err
		}
		if !ok {
			return h.fallShort(w, r, next, repl, fresh, s, reasonMaxAge, bearer, describe(reasonMaxAge, fresh))
		}
	}
	if req == nil && v.stepUp {
		req = h.riskReq
	}
	if req == nil {
		h.metrics.passedNoRule.Inc()
		h.dropOurCookies(r)
		return next.ServeHTTP(w, r)
	}
	h.metrics.passed.Inc()
	h.pass(r, repl, req, s, outcomePass)
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
