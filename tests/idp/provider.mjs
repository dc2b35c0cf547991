// Test-only OpenID Provider for Postern's integration tests: panva's oidc-provider (pinned in
// package.json) on 127.0.0.1 over plain http.
//
// Owns: the provider's configuration (PKCE S256 required for every client, RP-initiated and
// back-channel logout, scopes openid/email/profile/groups, claims straight in the ID token), a
// minimal login interaction (GET /interaction/:uid, POST /interaction/:uid/login) with consent
// granted automatically, and the test control endpoint POST /test/backchannel-logout.
//
// Usage: node tests/idp/provider.mjs CONFIG.json
//   CONFIG.json: {"port": N, "issuer": "http://127.0.0.1:N", "clients": [oidc-provider client
//   metadata...], "accounts": [{"sub","password","email","email_verified","name","groups"}]}
// Prints "idp listening on http://127.0.0.1:N" on stdout when ready; errors go to stderr.

import { readFileSync } from 'node:fs';
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function die(msg) {
  process.stderr.write(`idp: ${msg}\n`);
  process.exit(1);
}

if (typeof crypto.hash !== 'function') die(`oidc-provider 9 needs Node.js >= 20.12, this is ${process.version}`);
if (process.argv.length !== 3) die('usage: node provider.mjs CONFIG.json');

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { port, issuer } = config;
const accounts = new Map((config.accounts || []).map((a) => [a.sub, a]));

// Back-channel logout tokens carry sid only when the client asks for it; our RPs always want it.
const clients = (config.clients || []).map((c) => (
  c.backchannel_logout_uri && c.backchannel_logout_session_required === undefined
    ? { ...c, backchannel_logout_session_required: true } : c));

const signingKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });
Object.assign(signingKey, { kid: `rsa-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' });

const esc = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
    + `<body><h1>${esc(title)}</h1>${body}</body></html>`;
}

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
  },
  conformIdTokenClaims: false, // scope claims go in the ID token too, not only at userinfo
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.body = page('Sign out', `${form}<button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`
          + '<button id="logout-no" type="submit" form="op.logoutForm">No</button>');
      },
      postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p id="signed-out">You are signed out.</p>');
      },
    },
    backchannelLogout: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const a = accounts.get(sub);
    if (!a) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub, email: a.email, email_verified: a.email_verified, name: a.name, groups: a.groups,
        };
      },
    };
  },
  async renderError(ctx, out, error) {
    process.stderr.write(`idp: error page: ${JSON.stringify(out)} ${error?.stack || ''}\n`);
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out).map(([k, v]) => `<pre id="${esc(k)}">${esc(v)}</pre>`).join(''));
  },
  // oidc-provider refuses outgoing requests to special-use addresses (SSRF protection); the
  // RP's back-channel logout URI is on loopback here, so use a plain fetch.
  fetch(url, options) {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
});

for (const ev of ['server_error', 'backchannel.error', 'grant.error', 'authorization.error',
  'end_session.error', 'userinfo.error', 'jwks.error', 'discovery.error']) {
  provider.on(ev, (ctxOrErr, maybeErr) => {
    const err = maybeErr instanceof Error ? maybeErr : ctxOrErr;
    process.stderr.write(`idp: ${ev}: ${err?.message || err}${err?.error_description ? ` (${err.error_description})` : ''}\n`);
  });
}

function readBody(req, limit = 65536) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) { reject(new Error('body too large')); req.destroy(); } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function loginForm(uid, clientId, error) {
  return page('Sign in', `${error ? `<p id="error">${esc(error)}</p>` : ''}`
    + `<p>to ${esc(clientId)}</p>`
    + `<form method="post" action="/interaction/${esc(uid)}/login">`
    + '<input id="login" name="login" type="text" autofocus>'
    + '<input id="password" name="password" type="password">'
    + '<button id="submit" type="submit">Sign in</button></form>');
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params } = details;

  if (prompt.name === 'login') {
    if (action === undefined && req.method === 'GET') {
      return send(res, 200, 'text/html; charset=utf-8', loginForm(uid, params.client_id));
    }
    if (action === 'login' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const login = form.get('login') || '';
      const account = accounts.get(login) || [...accounts.values()].find((a) => a.email === login);
      if (!account || typeof account.password !== 'string'
          || account.password !== (form.get('password') || '')) {
        return send(res, 401, 'text/html; charset=utf-8', loginForm(uid, params.client_id, 'Invalid login or password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: account.sub } },
        { mergeWithLastSubmission: false });
    }
  }

  if (prompt.name === 'consent' && req.method === 'GET' && action === undefined) {
    // No consent page: grant exactly what was asked for.
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return send(res, 400, 'text/plain', `unexpected ${req.method} for prompt ${prompt.name}\n`);
}

async function testBackchannelLogout(req, res) {
  let clientId;
  try {
    const { client_id: cid, sub, sid } = JSON.parse(await readBody(req));
    clientId = cid;
    const client = await provider.Client.find(String(cid));
    if (!client) return send(res, 404, 'application/json', JSON.stringify({ ok: false, error: 'unknown client' }));
    if (!client.backchannelLogoutUri) {
      return send(res, 400, 'application/json', JSON.stringify({ ok: false, error: 'client has no backchannel_logout_uri' }));
    }
    await client.backchannelLogout(String(sub), sid === undefined || sid === null ? undefined : String(sid));
    return send(res, 200, 'application/json', JSON.stringify({ ok: true }));
  } catch (err) {
    const msg = err.cause ? `${err.message}: ${err.cause.message || err.cause.code || err.cause}` : err.message;
    process.stderr.write(`idp: test backchannel logout to ${clientId}: ${msg}\n`);
    return send(res, 502, 'application/json', JSON.stringify({ ok: false, error: msg }));
  }
}

const providerCallback = provider.callback();

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const m = /^\/interaction\/([^/]+)(?:\/(login))?$/.exec(pathname);
  let handled;
  if (m) handled = interaction(req, res, m[1], m[2]);
  else if (pathname === '/test/backchannel-logout' && req.method === 'POST') handled = testBackchannelLogout(req, res);
  else return providerCallback(req, res);
  return handled.catch((err) => {
    process.stderr.write(`idp: ${req.method} ${pathname}: ${err.stack || err}\n`);
    if (!res.headersSent) send(res, 400, 'text/plain', `${err.name}: ${err.message}\n`);
    else res.end();
  });
});

// Static clients are validated lazily by oidc-provider; fail at start instead of mid-test.
for (const c of clients) {
  try {
    await provider.Client.find(String(c.client_id));
  } catch (err) {
    die(`client ${c.client_id}: ${err.message}${err.error_description ? `: ${err.error_description}` : ''}`);
  }
}

server.on('error', (err) => die(err.stack || String(err)));
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`idp listening on http://127.0.0.1:${server.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
