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
	w(" Try, in order:")
	w("   /transfer     needs a sign-in: the IdP asks for a password   -> acr %s", idp.ACRPassword)
	w("   /admin        needs acr %s: the IdP asks only for the one-time code;", idp.ACRMFA)
	w("                 open it again: it passes without the IdP")
	w("   Send          a transfer needs a sign-in at most %s old. Send one, wait %s,", shortDuration(o.transferMaxAge), shortDuration(o.transferMaxAge))
	w("                 send again: 401 -> the page follows step_up_url -> password and code")
	w("                 again (the session's level is kept) -> back on the form, filled in")
	w("                 -> press Send again")
	w("   /settings     needs a sign-in at most %s old (a navigation: straight to the IdP)", shortDuration(o.settingsMaxAge))
	w("   curl          curl --cacert %s %s/api/me", o.rootCA(), site)
	w("                 -> 401 with WWW-Authenticate: Bearer error=\"insufficient_user_authentication\"")
	w("")
	w(" HTTPS           the certificate comes from Caddy's local CA, which is not in your")
	w("                 system's trust store: accept the browser's warning, or trust once")
	w("                 %s", o.rootCA())
	w("                 (kept in %s between runs; delete that directory to start afresh)", o.dataDir)
	w(" Identity        %s  (plain HTTP on loopback: the Caddyfile sets", o.issuer())
	w("   provider      insecure_loopback_http for it; the site itself stays HTTPS with __Host- cookies)")
	w(" App             http://%s  (behind Caddy; it trusts the X-User headers stepup sets)", o.backend())
	w(" Caddy           %s", caddyBin)
	w(" Caddyfile       %s  (template: examples/demo/Caddyfile)", caddyfile)
	w("")
	w(" Press Ctrl-C to stop.")
	w("──────────────────────────────────────────────────────────────────────────────")
	w("%s%s/", readyLine, site)
	con.printf("%s", b.String())
}
