// Package caddystepup lets `xcaddy build --with github.com/caddy-stepup/caddy-stepup`
// compile the stepup handler into Caddy: importing the module root registers it.
package caddystepup

import (
	_ "github.com/caddy-stepup/caddy-stepup/stepup"
)
