package stepup

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// explainRecorder instruments a server's routes and records what happens.
type explainRecorder struct {
	q       explainQuery
	dir     string
	steps   []*explainedStep
	reached string
	idps    map[*Handler]*explainNoIdP
}

// instrument swaps, in place, every stepup handler for a probe around it and
// every handler explain must not run for a stop, descending into subroutes,
// then recompiles each route's middleware from its handlers.
func (rec *explainRecorder) instrument(ctx caddy.Context, routes caddyhttp.RouteList) error {
	for i := range routes {
		for j, mh := range routes[i].Handlers {
			switch h := mh.(type) {
			case *Handler:
				routes[i].Handlers[j] = &explainProbe{h: h, rec: rec}
			case *caddyhttp.Subroute:
				if err := rec.instrument(ctx, h.Routes); err != nil {
					return err
				}
				if h.Errors != nil {
					if err := rec.instrument(ctx, h.Errors.Routes); err != nil {
						return err
					}
				}
			default:
				if id := caddy.GetModuleID(mh); !explainRuns[id] {
					routes[i].Handlers[j] = explainStop{module: id, rec: rec}
				}
			}
		}
		// The handlers are loaded already (HandlersRaw is spent), so this
		// only rebuilds the route's middleware chain from Handlers.
		if err := routes[i].ProvisionHandlers(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// serve runs the request through the server's routes as the server does,
// then, on an error, through its handle_errors routes.
func (rec *explainRecorder) serve(srv *caddyhttp.Server, w http.ResponseWriter, r *http.Request) {
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, srv)
	end := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	err := srv.Routes.Compile(end).ServeHTTP(w, r)
	if err == nil {
		return
	}
	status := http.StatusInternalServerError
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode != 0 {
		status = he.StatusCode
	}
	if srv.Errors != nil && len(srv.Errors.Routes) > 0 {
		// As the server does, error routes see the request as it arrived.
		if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
			r.Method, r.RemoteAddr, r.RequestURI = orig.Method, orig.RemoteAddr, orig.RequestURI
			u := *orig.URL
			r.URL = &u
		}
		r = srv.Errors.WithError(r, err)
		errEnd := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(status)
			return nil
		})
		if srv.Errors.Routes.Compile(errEnd).ServeHTTP(w, r) == nil {
			return
		}
	}
	w.WriteHeader(status)
}

// conclude fills the explanation from the recorded steps and the response.
func (rec *explainRecorder) conclude(out *explanation, w *httptest.ResponseRecorder) {
	out.Stepup, out.Reached = rec.steps, rec.reached
	if out.Stepup == nil {
		out.Stepup = []*explainedStep{}
	}
	resp := w.Result()
	if rec.reached == "" || resp.StatusCode != http.StatusOK || w.Body.Len() > 0 {
		out.Status = resp.StatusCode
		body := w.Body.String()
		if len(body) > 512 {
			body = body[:512] + "…"
		}
		out.Body = body
		for _, name := range []string{"Www-Authenticate", "Location", "Retry-After", "Content-Type"} {
			if v := resp.Header.Get(name); v != "" {
				if out.Headers == nil {
					out.Headers = map[string]string{}
				}
				out.Headers[name] = v
			}
		}
	}
	if len(rec.steps) == 0 {
		out.Verdict = verdictNoStepup
		return
	}
	last := rec.steps[len(rec.steps)-1]
	switch {
	case last.passed && last.Result == "":
		out.Verdict = verdictUnprotected
	case last.passed && last.Result == outcomeReportOnly:
		out.Verdict = verdictReportOnly
	case last.passed:
		out.Verdict = verdictPass
	case last.NeedsIdP:
		// The answer recorded is the offline IdP's failure, not the
		// server's: a live one would redirect the browser (or check the
		// token) there.
		out.Verdict = verdictNeedsIdP
		if last.loginRedirect {
			out.Verdict = verdictLogin
		}
		out.Status, out.Headers, out.Body = 0, nil, ""
	case resp.StatusCode == http.StatusUnauthorized:
		out.Verdict = verdictChallenge
	case resp.StatusCode == http.StatusForbidden:
		out.Verdict = verdictDenied
	default:
		out.Verdict = verdictRefused
	}
}

// explainStop stands in for a handler explain does not run.
type explainStop struct {
	module string
	rec    *explainRecorder
}

func (s explainStop) ServeHTTP(http.ResponseWriter, *http.Request, caddyhttp.Handler) error {
	if s.rec.reached == "" {
		s.rec.reached = strings.TrimPrefix(s.module, "http.handlers.")
	}
	return nil
}
