// Verifies caddy-stepup's signed step-up assertion in a Node.js upstream,
// with `jose` from npm. Trust the assertion, never plain identity headers.
import { createRemoteJWKSet, jwtVerify } from 'jose';

export function assertionVerifier({ jwksURL, issuer, audience, origin = issuer }) {
  const keys = createRemoteJWKSet(new URL(jwksURL)); // refetches on unknown kid
  return async function verify(req) {
    const token = req.headers['stepup-assertion'];
    if (typeof token !== 'string') throw new Error('no step-up assertion');
    const { payload } = await jwtVerify(token, keys, {
      issuer, audience, algorithms: ['ES256'], typ: 'stepup-assertion+jwt', clockTolerance: 5,
    });
    // Bound to one request: the method and the URL without its query.
    if (payload.htm !== req.method || payload.htu !== origin + req.url.split('?')[0]) {
      throw new Error('step-up assertion issued for another request');
    }
    return payload; // sub, acr, amr, auth_time, rule, risk_score, ...
  };
}
