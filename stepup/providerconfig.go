package stepup

import "github.com/caddyserver/caddy/v2"

// ProviderConfig names the OpenID Provider that performs logins.
type ProviderConfig struct {
	// Issuer is the OpenID Provider's issuer URL; discovery reads
	// `<issuer>/.well-known/openid-configuration`. Must be https (see
	// `insecure_loopback_http` for local development).
	Issuer string `json:"issuer"`

	// ClientID is this relying party's client identifier at the IdP.
	ClientID string `json:"client_id"`

	// ClientSecret authenticates the client at the token endpoint. Use a
	// placeholder such as `{env.STEPUP_CLIENT_SECRET}` or `{file./run/secret}`
	// so the secret never sits in the config.
	ClientSecret string `json:"client_secret,omitempty"`

	// Scopes requested at login. `openid` is always included.
	// Default: `openid`.
	Scopes []string `json:"scopes,omitempty"`

	// HealthCheckInterval is how long the IdP may go without a successful
	// back-channel call (discovery, token, JWKS) before the next login
	// first checks it is alive, with one GET of its discovery document.
	// While it is down, logins are answered 503 with Retry-After instead
	// of redirecting browsers to it. At least 1s. Default: 10s.
	HealthCheckInterval caddy.Duration `json:"health_check_interval,omitempty"`

	// AuthParams are extra parameters added to every authorization request
	// (for example `ui_locales`). They cannot override the parameters
	// stepup controls (state, nonce, PKCE, acr_values, max_age, prompt, ...).
	AuthParams map[string]string `json:"auth_params,omitempty"`

	// StepUpPrompt says how a step-up makes the IdP authenticate again when
	// the user already has a weaker session there. Many OPs treat
	// `acr_values` as a hint: holding a live password session they answer
	// with it, and the step-up could never succeed.
	//
	//   - `login`: when the user's session here falls short of a rule's acr
	//     or amr, the authorization request says `prompt=login`.
	//   - `retry`: the first request sends only `acr_values` (and the
	//     essential acr claim); an OP that honours them steps the user up
	//     without a second password prompt.
	//
	// Either way, a login the OP answers below the requirement, when the
	// request did not say `prompt=login` and the answer's auth_time does not
	// clearly show a new authentication (absent, or not later than the
	// attempt's start plus 10 s of clock skew), is retried once with
	// `prompt=login`; a second weak answer is refused. `max_age 0` always
	// sends `prompt=login`.
	// Default: `login`.
	StepUpPrompt string `json:"step_up_prompt,omitempty"`
}

// step_up_prompt values.
const (
	stepUpPromptLogin = "login"
	stepUpPromptRetry = "retry"
)
