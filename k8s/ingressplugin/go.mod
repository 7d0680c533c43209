module github.com/caddy-stepup/caddy-stepup/k8s/ingressplugin

go 1.27.3

// No go.sum: github.com/caddyserver/ingress is not served by the Go module
// proxy this repository's CI uses, so this module cannot be resolved or built
// there. It is built inside the controller's own module (see README.md).
require (
	github.com/caddy-stepup/caddy-stepup v0.0.0-00010101000000-000000000000
	github.com/caddy-stepup/caddy-stepup/k8s v0.0.0-00010101000000-000000000000
	github.com/caddyserver/caddy/v2 v2.11.9
	// The controller's main branch at 0e3de1e (2026-06-30); see README.md.
	github.com/caddyserver/ingress v0.0.0-20260630121044-0e3de1ede38f
	go.uber.org/zap v1.28.0
	k8s.io/client-go v0.37.2
)

replace (
	github.com/caddy-stepup/caddy-stepup => ../../
	github.com/caddy-stepup/caddy-stepup/k8s => ../
)
