module github.com/caddy-stepup/caddy-stepup/integration

go 1.27.3

require (
	github.com/caddy-stepup/caddy-stepup v0.0.0-00010101000000-000000000000
	github.com/caddy-stepup/caddy-stepup/verify v0.0.0-00010101000000-000000000000
	github.com/chromedp/chromedp v0.23.0
	github.com/prometheus/client_golang v1.24.1
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.6 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/maxmind/mmdbwriter v1.2.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/oschwald/maxminddb-golang/v2 v2.9.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.71.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	go4.org/netipx v0.0.0-20231129151722-fdeea329fbba // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/caddy-stepup/caddy-stepup => ../

// The assertion verifier is tested here against a real Caddy from this tree.
replace github.com/caddy-stepup/caddy-stepup/verify => ../verify
