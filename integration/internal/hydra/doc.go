// Package hydra runs a real Ory Hydra v2.3.0 as the OpenID Provider of
// caddy-stepup's integration tests, and plays its login & consent app.
//
// Tests talk to a genuine OpenID Provider rather than a mock so that the
// plugin is exercised against real discovery, JWKS, PKCE, nonce, acr/amr and
// auth_time handling. The Hydra binary is built and cached by
// scripts/build-hydra (pinned by tools/hydra/go.mod) and handed to the tests
// through the STEPUP_HYDRA environment variable.
//
// Each [Start] runs its own Hydra process on free loopback ports with an
// in-memory SQLite database, so tests are isolated and leave nothing on disk
// outside t.TempDir(). The test decides, per login, what the IdP's "user"
// does through [Server.OnLogin], or, with [Server.Interactive], leaves it to
// a browser clicking a sign-in page; consent is always granted. Every login
// request Hydra forwards is recorded ([Server.LoginRequests]) so tests can
// assert exactly what the relying party sent (acr_values, max_age, prompt,
// login_hint, claims, PKCE, nonce, state).
//
// Hydra is configured to issue JWT access tokens that carry acr, amr and
// auth_time as top-level claims, which is what a resource server doing
// step-up checks on bearer tokens needs.
package hydra
