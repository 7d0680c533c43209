// Package idp is the demo's OpenID Provider: zitadel/oidc's certified `op`
// package for the protocol, with our in-memory storage, two users and a
// small login UI that grants `urn:stepup:pwd` for a password and
// `urn:stepup:mfa` for a password plus a one-time code.
//
// It honours what caddy-stepup sends: acr_values (the second factor),
// max_age and prompt=login (re-authentication), login_hint (the username is
// prefilled), and it requires PKCE with S256. It does not support the claims
// request parameter and so does not advertise claims_parameter_supported.
package idp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Config describes the provider.
type Config struct {
	// Issuer is the provider's URL, e.g. http://127.0.0.1:9400. Plain HTTP
	// is accepted (this OP is for loopback only).
	Issuer string
	Client ClientConfig
	Users  []User
	// DeliverCode "sends" a one-time code to the user; the demo prints it.
	DeliverCode func(u User, code string)
	// Logf reports what the OP does (requests, sign-ins, refusals), never
	// secrets; nil discards.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DemoSite, the site's origin, turns on the demo-only endpoint that
	// ages the browser's sign-in (see age.go); empty leaves it off.
	DemoSite string
	// DemoToken must accompany a request to that endpoint.
	DemoToken string
}

// loginPath is where the library sends browsers to authenticate.
const loginPath = "/login"

// loggedOutPath is where end_session lands without a post_logout_redirect_uri.
const loggedOutPath = "/logged-out"

// New returns the provider as an http.Handler: the library's endpoints
// (discovery, authorize, token, keys, userinfo, end_session...) plus our
// login UI.
func New(cfg Config) (http.Handler, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.DeliverCode == nil {
		return nil, errors.New("idp: DeliverCode is required")
	}
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	sess := newSessions(cfg.Now)
	users := newDirectory(cfg.Users)
	store := &storage{
		client: &client{cfg: cfg.Client, loginURL: func(id string) string {
			return issuer + loginPath + "?id=" + url.QueryEscape(id)
		}},
		users:    users,
		sessions: sess,
		key:      key,
		now:      cfg.Now,
		logf:     cfg.Logf,
		requests: map[string]*authRequest{},
		codes:    map[string]string{},
		tokens:   map[string]accessToken{},
	}
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: loggedOutPath,
		CodeMethodS256:           true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
		SupportedClaims: []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
			"name", "preferred_username", "email", "email_verified",
		},
	}, store, op.StaticIssuer(issuer),
		op.WithAllowInsecure(), // plain HTTP issuer: loopback only, see the demo's README
		op.WithHttpInterceptors(withSSOCookie, withAsked),
	)
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	ui := &loginUI{
		store:    store,
		sessions: sess,
		users:    users,
		provider: provider,
		issuer:   issuer,
		deliver:  cfg.DeliverCode,
		now:      cfg.Now,
		logf:     cfg.Logf,
	}
	mux := http.NewServeMux()
	mux.Handle(loginPath, ui)
	if cfg.DemoSite != "" {
		mux.Handle(agePath, &ageSession{sessions: sess, site: cfg.DemoSite, token: cfg.DemoToken, logf: cfg.Logf})
	}
	mux.HandleFunc(loggedOutPath, func(w http.ResponseWriter, r *http.Request) {
		render(w, http.StatusOK, "message", page{Title: "Signed out", Message: "You are signed out of the demo identity provider."})
	})
	mux.Handle("/", provider)
	return mux, nil
}
