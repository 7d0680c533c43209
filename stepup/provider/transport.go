package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func newHTTPClient(rt http.RoundTripper, latency *prometheus.HistogramVec) *http.Client {
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.ResponseHeaderTimeout = discoveryTimeout
		rt = t
	}
	if latency != nil {
		rt = timedTransport{next: rt, hist: latency}
	}
	return &http.Client{
		Transport: rt,
		Timeout:   discoveryTimeout,
		// The IdP's back-channel endpoints never legitimately redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// endpointKey labels an outgoing call for the latency histogram.
type endpointKey struct{}

func withEndpoint(ctx context.Context, endpoint string) context.Context {
	return context.WithValue(ctx, endpointKey{}, endpoint)
}

// timedTransport observes the latency of every call to the IdP.
type timedTransport struct {
	next http.RoundTripper
	hist *prometheus.HistogramVec
}

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	endpoint, _ := r.Context().Value(endpointKey{}).(string)
	if endpoint == "" {
		endpoint = "other"
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.hist.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	return resp, err
}

// healthTransport reports each back-channel call's outcome to the client:
// a transport error or a 5xx is a failure; any other answer shows the IdP
// alive. A call the caller cancelled says nothing about the IdP.
type healthTransport struct {
	next http.RoundTripper
	c    *Client
}

func (t healthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	switch {
	case err != nil && errors.Is(err, context.Canceled):
	case err != nil:
		t.c.report(err)
	case resp.StatusCode >= 500:
		t.c.report(fmt.Errorf("%s answered %s", r.URL.Redacted(), resp.Status))
	default:
		t.c.report(nil)
	}
	return resp, err
}
