package hydra

import (
	"net/http"
	"strings"
	"testing"
)

// Client is an OAuth 2.0 / OpenID Connect client (relying party) registered
// with Hydra. Zero fields get defaults from CreateClient.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs must be non-empty; CodeFlow uses the first one.
	RedirectURIs []string
	// Scopes the client may request; default ["openid", "profile"]. Add
	// "offline_access" for refresh tokens. CodeFlow requests all of them.
	Scopes []string
	// Audience the client may request for its access tokens (aud claim).
	Audience               []string
	PostLogoutRedirectURIs []string
	// TokenEndpointAuthMethod: client_secret_basic (default),
	// client_secret_post or none (public client).
	TokenEndpointAuthMethod string
	// BackchannelLogoutURI receives OpenID back-channel logout tokens;
	// with it, the client asks for sid in ID and logout tokens.
	BackchannelLogoutURI string
}

// clientJSON is the admin API's OAuth2Client representation (the subset we
// set).
type clientJSON struct {
	ID                      string   `json:"client_id,omitempty"`
	Secret                  string   `json:"client_secret,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	Audience                []string `json:"audience"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	BackchannelLogoutURI    string   `json:"backchannel_logout_uri,omitempty"`
	BackchannelSIDRequired  bool     `json:"backchannel_logout_session_required,omitempty"`
}

// CreateClient registers c through the admin API (POST /admin/clients) and
// returns it with defaults and any Hydra-generated ID/secret filled in.
// Clients are remembered so Restart can register them again.
func (s *Server) CreateClient(t testing.TB, c Client) Client {
	t.Helper()
	if len(c.RedirectURIs) == 0 {
		t.Fatal("hydra.CreateClient: RedirectURIs is required")
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "profile"}
	}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = "client_secret_basic"
	}
	in := clientJSON{
		ID:                      c.ID,
		Secret:                  c.Secret,
		RedirectURIs:            c.RedirectURIs,
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scope:                   strings.Join(c.Scopes, " "),
		Audience:                nonNil(c.Audience),
		PostLogoutRedirectURIs:  nonNil(c.PostLogoutRedirectURIs),
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		BackchannelLogoutURI:    c.BackchannelLogoutURI,
		BackchannelSIDRequired:  c.BackchannelLogoutURI != "",
	}
	var out clientJSON
	if err := s.adminJSON(http.MethodPost, "/admin/clients", in, &out); err != nil {
		t.Fatalf("hydra.CreateClient %q: %v", c.ID, err)
	}
	c.ID = out.ID
	if c.TokenEndpointAuthMethod != "none" {
		c.Secret = out.Secret
	}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c
}

// nonNil turns nil into an empty slice, which Hydra's JSON prefers.
func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
