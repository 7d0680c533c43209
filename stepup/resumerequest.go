package stepup

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// newResumeRequest rebuilds the held request as the upstream must see it:
// the original method, path, query, content type and body, with the
// confirmation's headers (and so its cookies: the new session).
func newResumeRequest(r *http.Request, hr *heldRequest) *http.Request {
	r2 := r.Clone(context.WithValue(r.Context(), resumedKey{}, true))
	r2.Method = hr.Method
	r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = hr.Path, "", hr.Query
	r2.RequestURI = r2.URL.RequestURI()
	r2.Body = io.NopCloser(bytes.NewReader(hr.Body))
	r2.ContentLength = int64(len(hr.Body))
	r2.Header.Set("Content-Type", hr.ContentType)
	r2.Header.Del("Content-Length")
	r2.Header.Del("Origin")
	r2.Header.Del("Referer")
	return r2
}

// resumedKey marks a resumed request: it is never held again.
type resumedKey struct{}

func resumed(r *http.Request) bool { v, _ := r.Context().Value(resumedKey{}).(bool); return v }
