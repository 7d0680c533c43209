package idp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// asked is what the site put in its authorization request, before the
// library normalised it: the library turns prompt=login into max_age=0,
// which decides correctly but would hide from the login page (and the
// log) the max_age the site's rule actually has.
type asked url.Values

// steering lists the parameters that shape the login UI.
var steering = []string{"acr_values", "max_age", "prompt", "login_hint"}

type askedKey struct{}

// withAsked is an op.HttpInterceptor that keeps the authorize endpoint's
// steering parameters in the context, for CreateAuthRequest.
func withAsked(next http.Handler) http.Handler {
	authorize := op.DefaultEndpoints.Authorization.Relative()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == authorize && r.ParseForm() == nil {
			a := asked{}
			for _, k := range steering {
				if v := r.Form.Get(k); v != "" {
					a[k] = []string{v}
				}
			}
			r = r.WithContext(context.WithValue(r.Context(), askedKey{}, a))
		}
		next.ServeHTTP(w, r)
	})
}

func askedFrom(ctx context.Context) asked {
	a, _ := ctx.Value(askedKey{}).(asked)
	return a
}

// maxAge is the site's own max_age, if it sent one.
func (a asked) maxAge() (time.Duration, bool) {
	sec, err := strconv.ParseUint(url.Values(a).Get("max_age"), 10, 32)
	if err != nil {
		return 0, false
	}
	return time.Duration(sec) * time.Second, true
}

// params lists the steering parameters in a fixed order.
func (a asked) params() []param {
	var ps []param
	for _, k := range steering {
		if v := url.Values(a).Get(k); v != "" {
			ps = append(ps, param{k, v})
		}
	}
	return ps
}

func (a asked) String() string {
	var parts []string
	for _, p := range a.params() {
		parts = append(parts, p.Name+"="+p.Value)
	}
	if len(parts) == 0 {
		return "(no acr_values, max_age or prompt)"
	}
	return strings.Join(parts, " ")
}
