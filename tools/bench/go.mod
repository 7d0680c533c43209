module github.com/caddy-stepup/caddy-stepup/tools/bench

go 1.27.3
