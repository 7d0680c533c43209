// A minimal upstream that answers only requests carrying a valid assertion:
//   STEPUP_JWKS_URL=https://app.example/.well-known/stepup-jwks.json \
//   STEPUP_ISSUER=https://app.example STEPUP_AUDIENCE=backend PORT=9000 node server.mjs
import http from 'node:http';
import { assertionVerifier } from './verify.mjs';

const verify = assertionVerifier({
  jwksURL: process.env.STEPUP_JWKS_URL,
  issuer: process.env.STEPUP_ISSUER,
  audience: process.env.STEPUP_AUDIENCE,
});

const server = http.createServer(async (req, res) => {
  let claims;
  try {
    claims = await verify(req);
  } catch {
    res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ sub: claims.sub, acr: claims.acr, rule: claims.rule, path: req.url }));
});
server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
