// Command caddy-secretstore is Caddy with the standard modules, the stepup
// module and the test model of the ingress controller's Secret storage
// (k8s/internal/secretstore). It exists only for the k8s e2e tests, which
// run two of them as replicas sharing Secrets; k8s/scripts/test builds it.
// The production binary (scripts/build-caddy) never links it.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-stepup/caddy-stepup"
	_ "github.com/caddy-stepup/caddy-stepup/k8s/internal/secretstore"
)

func main() {
	caddycmd.Main()
}
