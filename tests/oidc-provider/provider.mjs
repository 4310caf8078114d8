// A real OpenID Connect provider (panva/oidc-provider) for nestflux's
// interoperability tests. Each run has its own signing keys, so tokens from
// two instances never verify against each other.
//
//   node provider.mjs [--audience AUD] [--roles a,b] [--ttl SECONDS]
//                     [--app-url URL] [--steady-account LOGIN]
//
// It listens on 127.0.0.1 on a free port and prints one JSON line on stdout,
// {"issuer": "http://127.0.0.1:PORT"}, once it is ready. Clients:
//   - `service` / `service-secret`: client credentials, JWT access tokens for
//     the audience, with a `roles` claim.
//   - `webapp` / `webapp-secret` (only with --app-url, the service's
//     PUBLIC_BASE_URL): a confidential authorization-code client
//     (client_secret_basic, PKCE required) as the `session` feature uses it:
//     redirect_uri {app}/auth/callback, post-logout redirect {app}/,
//     back-channel logout to {app}/auth/backchannel-logout (with `sid`),
//     a refresh token with every code, rotated on every use.
// Access tokens are JWTs for the audience (a `resource` indicator, the
// audience by default) with `roles`, valid --ttl seconds (default 300) except
// those the refresh_token grant issues to the --steady-account login, which
// live an hour (its session refreshes once, then not for an hour).
// Login and consent are the provider's development interactions: the
// authorization endpoint redirects to /interaction/<uid>, an HTML form posted
// back to the same URL, first with `prompt=login`, `login` (any name: the
// subject) and `password` (anything), then with `prompt=consent`.
//
// Test-harness path (not a provider endpoint): GET /test-harness/log answers
// what the provider did that a client cannot observe:
//   {"refresh_tokens": [{"value", "account", "grant_id", "rotations"}...],
//    "consumed_refresh_tokens": [value...],
//    "revoked_grants": [grant_id...],
//    "token_errors": [{"client_id", "grant_type", "error", "detail"}...],
//    "backchannel_logouts": [{"client_id", "account", "sid", "error"}...]}
// Refresh tokens are opaque, and an opaque token's value is its `jti`, so
// the values recorded from `refresh_token.saved` are the ones issued. The
// token errors keep the provider's internal `error_detail` (such as
// "refresh token already used"), which clients never see: every
// invalid_grant says "grant request is invalid".
//
// It stops when its stdin closes, so a crashed test never leaves it behind.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

// stdout carries the ready line only: the provider's notices (console.info,
// such as "default ... function called") go to stderr.
console.info = console.error;
console.log = console.error;

const { values: args } = parseArgs({
  options: {
    audience: { type: 'string', default: 'urn:nestflux:api' },
    roles: { type: 'string', default: 'admin' },
    ttl: { type: 'string', default: '300' },
    'app-url': { type: 'string' },
    'steady-account': { type: 'string' },
  },
});
const roles = args.roles.split(',').filter(Boolean);
const ttl = Number(args.ttl);
const appUrl = args['app-url']?.replace(/\/+$/, '');

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

const clients = [
  {
    client_id: 'service',
    client_secret: 'service-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
];
if (appUrl) {
  clients.push({
    client_id: 'webapp',
    client_secret: 'webapp-secret',
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`${appUrl}/auth/callback`],
    post_logout_redirect_uris: [`${appUrl}/`],
    backchannel_logout_uri: `${appUrl}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
    token_endpoint_auth_method: 'client_secret_basic',
  });
}

const log = {
  refresh_tokens: [],
  consumed_refresh_tokens: [],
  revoked_grants: [],
  token_errors: [],
  backchannel_logouts: [],
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients,
    // Development logins: any login name is an account with that subject.
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({
        sub, name: sub, email: `${sub}@example.test`, email_verified: true,
      }),
    }),
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    // PKCE (S256) for every client, confidential ones included: the login
    // must send it or the provider refuses the authorization request.
    pkce: { required: () => true },
    // oidc-provider keeps `offline_access` only when the authorization
    // request has prompt=consent (OpenID Connect Core 11); the login flow
    // does not send one, so refresh tokens are issued to every client allowed
    // the refresh_token grant. Each use rotates them; presenting a used one
    // again revokes the whole grant.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (ctx, token) => (
        args['steady-account'] && token.accountId === args['steady-account']
          && ctx?.oidc?.params?.grant_type === 'refresh_token' ? 3600 : ttl
      ),
      ClientCredentials: () => ttl,
    },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => args.audience,
        // Access tokens are JWTs only for resource servers that ask for it.
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== args.audience) throw new Provider.errors.InvalidTarget();
          return {
            audience: args.audience,
            scope: 'items:read items:write',
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: () => ({ roles }),
    // Back-channel logout tokens go to the service on loopback, which the
    // provider's SSRF protection (its own dispatcher) refuses; only the
    // registered back-channel logout URL is let through.
    fetch: (url, options) => {
      if (appUrl && String(url) === `${appUrl}/auth/backchannel-logout`) {
        const { dispatcher: _ssrfProtection, ...rest } = options;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, options);
    },
  });
  // Plain http on loopback is fine for a test; the provider warns otherwise.
  provider.proxy = false;

  provider.on('refresh_token.saved', (token) => {
    log.refresh_tokens.push({
      value: token.jti,
      account: token.accountId,
      grant_id: token.grantId,
      rotations: token.rotations ?? 0,
    });
  });
  provider.on('refresh_token.consumed', (token) => {
    log.consumed_refresh_tokens.push(token.jti);
  });
  provider.on('grant.revoked', (_ctx, grantId) => {
    log.revoked_grants.push(grantId);
  });
  provider.on('grant.error', (ctx, err) => {
    log.token_errors.push({
      client_id: ctx.oidc?.client?.clientId ?? null,
      grant_type: ctx.oidc?.params?.grant_type ?? null,
      error: err.error ?? String(err),
      detail: err.error_detail ?? null,
    });
  });
  provider.on('backchannel.success', (_ctx, client, account, sid) => {
    log.backchannel_logouts.push({
      client_id: client.clientId, account, sid, error: null,
    });
  });
  provider.on('backchannel.error', (_ctx, err, client, account, sid) => {
    log.backchannel_logouts.push({
      client_id: client.clientId, account, sid, error: String(err?.message ?? err),
    });
  });

  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url === '/test-harness/log') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(log));
      return;
    }
    callback(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
