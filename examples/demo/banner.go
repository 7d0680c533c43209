package main

import (
	"fmt"
	"strings"

	"github.com/caddy-stepup/caddy-stepup/examples/demo/internal/idp"
)

// readyLine is printed last, once the site answers; tests wait for it.
const readyLine = "Demo ready: "

// printBanner tells a newcomer what is running and what to try.
func printBanner(con *console, o *options, caddyBin, caddyfile string) {
	var users []string
	for _, u := range idp.DemoUsers() {
		users = append(users, u.ID+" / "+u.Password)
	}
	codes := `in this console, on lines "idp   | one-time code for …"`
	if o.codeFile != "" {
		codes += ", and in " + o.codeFile
	}
	site := o.siteURL()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("")
	w("──────────────────────────────────────────────────────────────────────────────")
	w(" caddy-stepup demo: open %s/", site)
	w("──────────────────────────────────────────────────────────────────────────────")
	w(" Users           %s", strings.Join(users, "    "))
	w(" One-time codes  %s", codes)
	w("")
	w(" Try, in order (the README lists the same steps):")
	w("   1 /           public; Sign in: the IdP asks for a password  -> acr %s (amr pwd)", idp.ACRPassword)
	w("   2 /admin      needs acr %s: the IdP asks only for the one-time code", idp.ACRMFA)
	w("                 -> acr %s (amr pwd otp); open it again: it passes without the IdP", idp.ACRMFA)
	w("   3 /transfer   Send: a transfer needs a sign-in at most %s old. Make it older at once", shortDuration(o.transferMaxAge))
	w("                 with the button on %s/demo/ (or wait), Send again: the form is held ->", site)
	w("                 the IdP asks again -> \"You were sending a form\" -> Send it now: sent once")
	w("   4 /settings   needs a sign-in at most %s old (a navigation: straight to the IdP)", shortDuration(o.settingsMaxAge))
	w("   5 /demo/      every decision as Caddy logged it (rule, reason, mode, acr/amr/auth_time,")
	w("                 risk score per signal) and the caddy_stepup_* counters; log_subjects is on.")
	w("                 Simulate: network abroad -> step-up; another device -> step-up; a burst")
	w("                 -> step-up; blocklisted -> 403; risk mode report only -> \"would be\" only")
	w("   6 curl        curl --cacert %s %s/api/me", o.rootCA(), site)
	w("                 -> 401 with WWW-Authenticate: Bearer error=\"insufficient_user_authentication\"")
	w("   7 explain     what would /admin need of a 3-minute-old password session?")
	w("                 %s", strings.ReplaceAll(explainCommand(o, caddyBin, caddyfile), "\n", "\n                 "))
	w("")
	w(" Words           acr = how strongly you signed in (password: %s, password +", idp.ACRPassword)
	w("                 one-time code: %s); amr = the methods (pwd, otp); max_age = how old", idp.ACRMFA)
	w("                 a sign-in may be before the IdP is asked to check you again")
	w("")
	w(" HTTPS           the certificate comes from Caddy's local CA, which is not in your")
	w("                 system's trust store: accept the browser's warning, or trust once")
	w("                 %s", o.rootCA())
	w("                 (kept in %s between runs; delete that directory to start afresh)", o.dataDir)
	w(" Identity        %s  (plain HTTP on loopback: the Caddyfile sets", o.issuer())
	w("   provider      insecure_loopback_http for it; the site itself stays HTTPS with __Host- cookies)")
	w(" Protected site  https://localhost:%d (risk enforced), https://localhost:%d (report only): the", o.innerPort, o.reportPort)
	w("                 simulator on %s forwards to them from %s, the only address whose", site, simulatorAddr)
	w("                 X-Demo-Client-IP they believe (trusted_proxies); stepup runs there")
	w(" App             http://%s  (behind Caddy; it verifies the signed assertion stepup sends)", o.backend())
	w(" Caddy           %s", caddyBin)
	w(" Caddyfile       %s  (template: examples/demo/Caddyfile)", caddyfile)
	w("")
	w(" Press Ctrl-C to stop.")
	w("──────────────────────────────────────────────────────────────────────────────")
	w("%s%s/", readyLine, site)
	con.printf("%s", b.String())
}
