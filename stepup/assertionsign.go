package stepup

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// assertionClaims is the payload of an assertion. htm and htu bind it to
// the request as DPoP proofs do (RFC 9449): the method, and the URL
// without query or fragment.
type assertionClaims struct {
	Issuer    string   `json:"iss"`
	Audience  string   `json:"aud"`
	Subject   string   `json:"sub"`
	ACR       string   `json:"acr,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	Rule      string   `json:"rule"`
	RiskScore *int     `json:"risk_score,omitempty"`
	// ReportOnly says the request passed because the rule is report-only,
	// not because the session met it.
	ReportOnly bool   `json:"report_only,omitempty"`
	Method     string `json:"htm"`
	URL        string `json:"htu"`
	IssuedAt   int64  `json:"iat"`
	Expires    int64  `json:"exp"`
}

// attachAssertion sets the signed assertion on a request that passes with
// s, reusing a recent one for the same session, rule and target (and
// re-signing it in the background before the reuse window ends, so that a
// client repeating the target waits for a signature only the first time).
// reportOnly marks a pass that only report-only mode allowed. When no
// assertion can be signed (storage unreachable) the request goes on without
// one, and an upstream that verifies refuses it: fail closed, downstream.
func (h *Handler) attachAssertion(r *http.Request, req *decision.Requirement, s *session.Session, reportOnly bool) {
	a := h.asserter
	if a == nil {
		return
	}
	score := -1
	if h.risk != nil {
		if v, ok := caddyhttp.GetVar(r.Context(), risk.ScoreVar).(int); ok {
			score = v
		}
	}
	key := assertionCacheKey{s: s, rule: req.Name, reportOnly: reportOnly, score: score, method: r.Method, host: r.Host, path: r.URL.EscapedPath(), tls: r.TLS != nil}
	now := a.now()
	if e := a.cache.get(&key, now); e != nil {
		r.Header[a.header] = []string{e.token}
		if e.due(now) {
			a.refresh(&key, e)
		}
		return
	}
	e, err := a.signEntry(r.Context(), &key, now)
	if err != nil {
		h.logger.Error("assertion not signed; the request goes upstream without one", zap.Error(err))
		return
	}
	a.cache.put(&key, e, now)
	r.Header[a.header] = []string{e.token}
}

// signEntry signs the assertion for k at now as a cache entry.
func (a *asserter) signEntry(ctx context.Context, k *assertionCacheKey, now time.Time) (*assertionEntry, error) {
	tok, exp, err := a.sign(ctx, k, k.s, now)
	if err != nil {
		return nil, err
	}
	return newAssertionEntry(tok, now, exp, a.lifetime), nil
}

// origin is the site's origin as the request reached it.
func (a *asserter) origin(k *assertionCacheKey) string {
	if !k.tls && a.insecure {
		return "http://" + k.host
	}
	return "https://" + k.host
}

// sign makes a compact JWS over the claims for k and s at now and returns
// it with its expiry (the exp claim).
func (a *asserter) sign(ctx context.Context, k *assertionCacheKey, s *session.Session, now time.Time) (string, time.Time, error) {
	set, err := a.keys.keys(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(set.keys) == 0 {
		return "", time.Time{}, errors.New("no assertion signing key in storage")
	}
	a.signed.Add(1)
	key := set.signer(now, a.keys.lead())
	origin := a.origin(k)
	c := assertionClaims{
		Issuer: a.issuer, Audience: a.audience, Subject: s.Subject, ACR: s.ACR, AMR: s.AMR,
		Rule: k.rule, ReportOnly: k.reportOnly, Method: k.method, URL: origin + k.path,
		IssuedAt: now.Unix(), Expires: now.Add(a.lifetime).Unix(),
	}
	if c.Issuer == "" {
		c.Issuer = origin
	}
	if !s.AuthTime.IsZero() {
		c.AuthTime = s.AuthTime.Unix()
	}
	if k.score >= 0 {
		score := k.score
		c.RiskScore = &score
	}
	payload, err := json.Marshal(&c)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, pooled, err := signCompact(key, payload, a.nonces, now)
	if pooled {
		a.pooled.Add(1)
		assertionSignedPooled.Inc()
	} else if err == nil {
		assertionSignedWhole.Inc()
	}
	if a.nonces.low() {
		a.kick()
	}
	return tok, time.Unix(c.Expires, 0), err
}

// signCompact returns header.payload.signature with ES256 (RFC 7518,
// section 3.4: R and S as 32-byte big-endian integers), with a nonce from
// pool when it has one fresh at now (pooled: assertionnonce.go). Without,
// the nonce is deterministic (RFC 6979): no random generator to seed per signature,
// which makes a signature about a sixth cheaper than the hedged one
// (BenchmarkAssertionSignature). The JWS is the same ES256 either way.
func signCompact(key *signingKey, payload []byte, pool *noncePool, now time.Time) (tok string, pooled bool, err error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(key.header)+enc.EncodedLen(len(payload))+enc.EncodedLen(64)+2)
	buf = append(buf, key.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	var sig [64]byte
	if key.d != nil { // always, for keys from storage
		if n, ok := pool.take(now); ok {
			sig, pooled = signES256(key.d, n, digest[:])
		}
	}
	if !pooled {
		der, err := key.priv.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			return "", false, err
		}
		var ok bool
		if sig, ok = rawES256Signature(der); !ok {
			return "", false, errors.New("assertion signature: unexpected ECDSA signature encoding")
		}
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig[:])
	return string(buf), pooled, nil
}

// rawES256Signature turns an ASN.1 ECDSA signature (SEQUENCE of INTEGER r
// and s) into JWS form: r and s left-padded to 32 bytes each.
func rawES256Signature(der []byte) (sig [64]byte, ok bool) {
	var seq cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() ||
		len(r) > 32 || len(s) > 32 {
		return sig, false
	}
	copy(sig[32-len(r):32], r)
	copy(sig[64-len(s):], s)
	return sig, true
}

// jwsHeader is the encoded protected header of assertions signed by kid,
// made once per key rather than per signature.
func jwsHeader(kid string) []byte {
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": assertionMediaType, "kid": kid})
	return base64.RawURLEncoding.AppendEncode(nil, header)
}
