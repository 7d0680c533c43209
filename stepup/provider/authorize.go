package provider

import (
	"encoding/json"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// AuthRequest is one authorization request: what a login asks the
// provider for. Every request carries PKCE (S256), state and nonce.
type AuthRequest struct {
	RedirectURI string
	Scopes      []string
	State       string
	Nonce       string
	Verifier    string // PKCE code verifier; the request carries its S256 challenge
	// ACRValues is sent as acr_values when set. EssentialACR, when set and
	// the provider supports the claims parameter, also asks for acr as an
	// essential ID token claim with these values.
	ACRValues    string
	EssentialACR []string
	MaxAge       string // max_age in seconds, sent when set
	PromptLogin  bool   // prompt=login: authenticate again whatever session the provider holds
	LoginHint    string // sent when set
	// Extra are the configured additional parameters; they never override
	// the ones above (see ControlledParam).
	Extra map[string]string
}

// controlledParams are authorization parameters only AuthorizeURL sets.
var controlledParams = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true,
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"acr_values": true, "max_age": true, "prompt": true, "login_hint": true, "claims": true,
}

// ControlledParam reports whether an authorization parameter is one the
// request sets itself, so that configuration may not add it.
func ControlledParam(name string) bool { return controlledParams[name] }

// AuthorizeURL builds the authorization request to send the browser to.
func (d *Discovery) AuthorizeURL(a AuthRequest) string {
	q := url.Values{}
	for k, v := range a.Extra {
		q.Set(k, v)
	}
	q.Set("response_type", "code")
	q.Set("client_id", d.clientID)
	q.Set("redirect_uri", a.RedirectURI)
	q.Set("scope", strings.Join(a.Scopes, " "))
	q.Set("state", a.State)
	q.Set("nonce", a.Nonce)
	q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(a.Verifier))
	q.Set("code_challenge_method", "S256")
	if a.ACRValues != "" {
		q.Set("acr_values", a.ACRValues)
		if len(a.EssentialACR) > 0 && d.claimsParam {
			q.Set("claims", essentialACRClaims(a.EssentialACR))
		}
	}
	if a.MaxAge != "" {
		q.Set("max_age", a.MaxAge)
	}
	if a.PromptLogin {
		q.Set("prompt", "login")
	}
	if a.LoginHint != "" {
		q.Set("login_hint", a.LoginHint)
	}
	sep := "?"
	if strings.Contains(d.authorizeURL, "?") {
		sep = "&"
	}
	return d.authorizeURL + sep + q.Encode()
}

// essentialACRClaims is the OIDC claims request parameter asking for acr as
// an essential ID token claim with the acceptable values.
func essentialACRClaims(acr []string) string {
	type claim struct {
		Essential bool     `json:"essential"`
		Values    []string `json:"values,omitempty"`
	}
	b, _ := json.Marshal(map[string]map[string]claim{"id_token": {"acr": {Essential: true, Values: acr}}})
	return string(b)
}
