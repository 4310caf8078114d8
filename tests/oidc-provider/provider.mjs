// A real OpenID Connect provider (panva/oidc-provider) for nestflux's
// interoperability tests. Each run has its own signing keys, so tokens from
// two instances never verify against each other.
//
//   node provider.mjs [--audience AUD] [--roles a,b] [--ttl SECONDS]
//
// It listens on 127.0.0.1 on a free port and prints one JSON line on stdout,
// {"issuer": "http://127.0.0.1:PORT"}, once it is ready. Clients:
//   - `service` / `service-secret`: client credentials, JWT access tokens for
//     the audience, with a `roles` claim.
// It stops when its stdin closes, so a crashed test never leaves it behind.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    audience: { type: 'string', default: 'urn:nestflux:api' },
    roles: { type: 'string', default: 'admin' },
    ttl: { type: 'string', default: '300' },
  },
});
const roles = args.roles.split(',').filter(Boolean);

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey()] },
    clients: [
      {
        client_id: 'service',
        client_secret: 'service-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => args.audience,
        // Access tokens are JWTs only for resource servers that ask for it.
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== args.audience) throw new Provider.errors.InvalidTarget();
          return {
            audience: args.audience,
            scope: 'items:read items:write',
            accessTokenTTL: Number(args.ttl),
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: () => ({ roles }),
  });
  // Plain http on loopback is fine for a test; the provider warns otherwise.
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
