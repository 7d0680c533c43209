package stepup

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// Provision compiles rules and wires shared state. It does no network I/O:
// discovery and key loading happen on first use.
func (h *Handler) Provision(ctx caddy.Context) error {
	return h.provision(ctx, provisionEnv{})
}

// provisionEnv is what a handler takes from its surroundings rather than
// from its config. Provision uses the real ones; tests provision with
// their own clock or storage.
type provisionEnv struct {
	now     func() time.Time  // nil: time.Now, with keyrings shared across handlers
	storage certmagic.Storage // nil: Caddy's configured storage
}

func (h *Handler) provision(ctx caddy.Context, env provisionEnv) error {
	h.logger = ctx.Logger()
	h.outageLog = &logThrottle{every: outageLogEvery}
	h.freshPassLog = &logThrottle{every: outageLogEvery}
	h.metrics = sharedMetrics()
	if err := h.metrics.register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	realClock := env.now == nil // another clock (tests) keeps its keyring private
	h.now = env.now
	if h.now == nil {
		h.now = time.Now
	}
	h.applyDefaults()
	repl := caddy.NewReplacer()
	h.clientSecret = repl.ReplaceKnown(h.Provider.ClientSecret, "")
	specs := make([]decision.RuleSpec, len(h.Rules))
	for i, rule := range h.Rules {
		if rule == nil {
			return fmt.Errorf("rules[%d]: empty rule", i)
		}
		if rule.MatcherSetsRaw != nil {
			sets, err := ctx.LoadModule(rule, "MatcherSetsRaw")
			if err != nil {
				return fmt.Errorf("rule %q: loading matchers: %w", rule.Name, err)
			}
			if err := specs[i].Match.FromInterface(sets); err != nil {
				return fmt.Errorf("rule %q: %w", rule.Name, err)
			}
		}
		var maxAge *time.Duration
		if rule.MaxAge != nil {
			d := time.Duration(*rule.MaxAge)
			maxAge = &d
		}
		specs[i].Name, specs[i].ACR, specs[i].AMR, specs[i].MaxAge = rule.Name, rule.ACR, rule.AMR, maxAge
		specs[i].ReportOnly, specs[i].RiskStepUp, specs[i].RiskDeny = rule.ReportOnly, rule.RiskStepUp, rule.RiskDeny
	}
	riskSpec, err := h.provisionRisk(ctx)
	if err != nil {
		return err
	}
	h.policy = decision.New(decision.Config{Levels: h.ACRLevels, Rules: specs,
		RequireAll: h.RequireLogin == "all", ReportOnly: h.ReportOnly, Risk: riskSpec})
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
	h.cookies = session.NewCookies(session.Names{Session: h.Session.CookieName, FlowPrefix: flowCookiePrefix, FlowNext: flowNextCookie, Device: risk.DeviceCookieName}, h.InsecureLoopbackHTTP)
	h.storage = env.storage
	if h.storage == nil {
		h.storage = ctx.Storage()
	}
	ring, err := h.provisionKeyring(ctx, realClock)
	if err != nil {
		return err
	}
	h.sealer = session.NewSealer(ring, h.Provider.Issuer+"\x00"+h.Provider.ClientID, flowPurpose)
	h.sessions = session.NewStore(h.sealer, h.cookies, session.WithClock(h.now))
	h.bearers = newBearerCache(bearerCacheSize)
	idp, err := provider.Load(h.idpKey(), provider.Options{Now: h.now, Latency: h.metrics.idpDuration})
	if err != nil {
		return err
	}
	passes, err := loadFreshPasses(h.idpKey().String())
	if err != nil {
		return err
	}
	h.freshPasses = passes
	h.idp = idp
	interval := time.Duration(h.Provider.HealthCheckInterval)
	if interval == 0 {
		interval = provider.DefaultHealthCheckInterval
	}
	h.idp.SetHealthInterval(interval)
	h.provisionAssertion()
	if h.asserter != nil {
		if err := registerAssertionMetrics(ctx.GetMetricsRegistry()); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
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

// Cleanup releases the shared provider state held for this config and
// stops its assertion re-signing worker.
func (h *Handler) Cleanup() error {
	h.releaseKeyring()
	if h.asserter != nil {
		h.asserter.close()
	}
	if h.risk != nil {
		_ = h.risk.Close()
	}
	if h.freshPasses != nil {
		_, _ = freshPassLedgers.Delete(h.idpKey().String())
	}
	h.releaseState()
	if h.idp != nil {
		return provider.Release(h.idpKey())
	}
	return nil
}

// idpKey names the provider client this config shares with every config
// naming the same issuer, client and insecure_loopback_http.
func (h *Handler) idpKey() provider.Key {
	return provider.Key{Issuer: h.Provider.Issuer, ClientID: h.Provider.ClientID, LoopbackHTTP: h.InsecureLoopbackHTTP}
}
