module github.com/caddy-stepup/caddy-stepup/tools/bench

go 1.27.3

require github.com/caddy-stepup/caddy-stepup v0.0.0-00010101000000-000000000000

require (
	github.com/maxmind/mmdbwriter v1.2.0 // indirect
	github.com/oschwald/maxminddb-golang/v2 v2.9.0 // indirect
	go4.org/netipx v0.0.0-20231129151722-fdeea329fbba // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/caddy-stepup/caddy-stepup => ../../
