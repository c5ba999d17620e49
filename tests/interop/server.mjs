// Interop fixture: a real third-party OpenID Provider (the `oidc-provider` npm package,
// pinned in package.json) shaped like PingOne or PingFederate, for ping-oidc's interop tests.
//
// Start: `node server.mjs` (Node 20+). Binds 127.0.0.1 only and never contacts another host.
// When listening it prints exactly one line of JSON to stdout:
//   {"ready":true,"issuer":"http://127.0.0.1:PORT/...","port":PORT}
// Everything else (oidc-provider warnings, request logs, errors) goes to stderr.
// SIGTERM / SIGINT exit at once. State is in memory only.
//
// Environment variables
//   SHAPE              `pingone` (default) or `pingfed`.
//                        pingone: issuer http://127.0.0.1:PORT/<ENV_ID>/as, endpoints
//                          <issuer>/authorize, /token, /userinfo, /jwks, /revoke, /introspect,
//                          /signoff, /par; discovery <issuer>/.well-known/openid-configuration.
//                        pingfed: issuer http://127.0.0.1:PORT, endpoints /as/authorization.oauth2,
//                          /as/token.oauth2, /idp/userinfo.openid, /pf/JWKS,
//                          /as/revoke_token.oauth2, /as/introspect.oauth2,
//                          /idp/init_logout.openid, /as/par.oauth2.
//   ENV_ID             PingOne environment id (default 11111111-2222-3333-4444-555555555555).
//   PORT               TCP port on 127.0.0.1; 0 (default) picks a free one.
//   CLIENTS            JSON array of client metadata (client_id, client_secret,
//                      redirect_uris, post_logout_redirect_uris, token_endpoint_auth_method
//                      client_secret_basic | client_secret_post | none, backchannel_logout_uri,
//                      grant_types ...). grant_types defaults to
//                      ["authorization_code","refresh_token"]; a client with a
//                      backchannel_logout_uri gets backchannel_logout_session_required=true
//                      (so its ID tokens and logout tokens carry `sid`). Default: one client
//                      rp / rp-secret, redirect http://127.0.0.1:3000/auth/callback,
//                      post-logout http://127.0.0.1:3000/, client_secret_basic.
//   ACCESS_TOKEN_TTL   seconds, default 300.
//   ID_TOKEN_TTL       seconds, default 300.
//   REFRESH_TOKEN_TTL  seconds, default 3600.
//   ACCOUNT_ID         the account every login completes as (default `alice`).
//   CONFORM_ID_TOKEN_CLAIMS
//                      `true` (default): with the code flow the ID token carries only
//                      sub/sid/auth_time/... and profile/email claims come from userinfo (what
//                      OIDC Core says). `false`: the ID token also carries the claims of the
//                      granted scopes (name, email, ...).
//   RESOURCES          JSON object {"<resource indicator>": "<scope> <scope>"}: resource servers
//                      (RFC 8707). A `resource` at the authorization request asks consent for
//                      it (the automatic interaction grants it); a refresh-token grant with
//                      `resource` then gets a JWT access token whose `aud` is the indicator.
//                      Code exchanges without `resource` get the userinfo token, as before.
//                      Unknown indicators get `invalid_target`. Default: none.
//   OPAQUE_RESOURCES   JSON array of resource indicators (keys of RESOURCES) whose access
//                      tokens are opaque (for introspection) instead of JWTs.
//   TOKEN_ACR          when set, client-credentials access tokens carry this `acr` and an
//                      `auth_time` TOKEN_AUTH_AGE seconds (default 0) ago: a stand-in for
//                      user tokens in the bearer step-up tests.
//   PAR                `on` (default): pushed authorization requests (RFC 9126) advertised;
//                      `required`: every authorization request must be pushed
//                      (`require_pushed_authorization_requests`); `off`: no PAR endpoint.
//   LOWER_ACR          `1`: every login gets `acr` Single_Factor, whatever `acr_values` asked
//                      (a provider that does not meet a step-up). Otherwise a login gets the
//                      first of `acr_values` (Single_Factor, Multi_Factor), and a session whose
//                      `acr` is not among the requested ones signs in again.
//   LOG_REQUESTS       `1` logs every request line to stderr.
//   END_SESSION        `standard` (default): RP-initiated logout at the shape's end-session
//                      path. `ping` (PingFederate without OIDC RP-initiated logout): no
//                      `end_session_endpoint`; discovery names `ping_end_session_endpoint`
//                      <base>/idp/startSLO.ping instead, which counts the call
//                      (stats.ping_slo) and redirects to a registered `TargetResource`.
//                      `none`: no end-session endpoint at all.
//
// Behaviour
//   * Interactions finish by themselves: the authorization endpoint redirects to
//     /interaction/<uid> (at the server root), whose GET logs in ACCOUNT_ID, grants every
//     requested scope/claim, and 303-redirects back to <authorization endpoint>/<uid>, which
//     redirects to the client's redirect_uri with code, state and iss.
//   * RP-initiated logout finishes by itself: a GET on the end-session endpoint ends the
//     provider session (all clients) and 303-redirects to post_logout_redirect_uri?state=...
//     (or to <end-session>/success when none was given; an unregistered one is a 400 error).
//   * Refresh tokens are issued to every client allowed the refresh_token grant, rotate on every
//     use, and reuse of a used one fails with invalid_grant (and revokes the whole grant).
//   * PKCE (S256) is required for every client.
//
// Test hooks (plain JSON, at the server root)
//   GET  /__test/stats           request counters (see `emptyStats` below).
//   POST /__test/reset           zero the counters.
//   GET  /__test/refresh-tokens  every refresh token value issued so far, newest last.
//   GET  /__test/sessions        {"active":N,"accounts":{"alice":N}}: live end-user sessions.
//   GET  /__test/revoked-tokens  the `token` of every revocation request so far, in order.
//   POST /__test/sign            a JSON object of claims in, a JWT out, signed (RS256, typ
//                                at+jwt) with the provider's own signing key: tokens with the
//                                claims a bearer test needs (another `iss`, an `nbf` ahead).
//   POST /__test/next-login      {"account_id":"bob"}: ends every end-user session (as if they
//                                had expired) and makes the next login complete as that
//                                account: another user on a shared browser.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider prints notices with console.info (stdout). stdout is reserved for the single
// ready line, so everything console prints goes to stderr.
for (const level of ['log', 'info', 'debug']) {
  console[level] = (...args) => console.error(...args);
}

const { default: Provider, errors: oidcErrors, interactionPolicy } = await import('oidc-provider');

// Step-up: a session whose `acr` is not among `acr_values` signs in again (the automatic
// interaction then logs in with the first value asked for, or `Single_Factor` with LOWER_ACR=1).
const ACR_VALUES = ['Single_Factor', 'Multi_Factor'];
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'acr_values_not_met',
  'the session does not meet the requested acr_values',
  (ctx) => {
    const requested = ctx.oidc.params.acr_values;
    // LOWER_ACR: a provider that never meets the request (and so never asks again).
    if (!requested || process.env.LOWER_ACR === '1') return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    return requested.split(' ').includes(ctx.oidc.session.acr)
      ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : interactionPolicy.Check.REQUEST_PROMPT;
  },
));

// ---------------------------------------------------------------------------------------------
// configuration from the environment

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const SHAPE = (process.env.SHAPE || 'pingone').toLowerCase();
if (!['pingone', 'pingfed'].includes(SHAPE)) {
  throw new Error(`SHAPE must be pingone or pingfed, got ${JSON.stringify(SHAPE)}`);
}
const ENV_ID = process.env.ENV_ID || '11111111-2222-3333-4444-555555555555';
const PORT = intEnv('PORT', 0);
const ACCESS_TOKEN_TTL = intEnv('ACCESS_TOKEN_TTL', 300);
const TOKEN_ACR = process.env.TOKEN_ACR || '';
const TOKEN_AUTH_AGE = intEnv('TOKEN_AUTH_AGE', 0);
const ID_TOKEN_TTL = intEnv('ID_TOKEN_TTL', 300);
const REFRESH_TOKEN_TTL = intEnv('REFRESH_TOKEN_TTL', 3600);
const ACCOUNT_ID = process.env.ACCOUNT_ID || 'alice';
const CONFORM_ID_TOKEN_CLAIMS = (process.env.CONFORM_ID_TOKEN_CLAIMS || 'true') !== 'false';
const LOG_REQUESTS = process.env.LOG_REQUESTS === '1';
const END_SESSION = (process.env.END_SESSION || 'standard').toLowerCase();
if (!['standard', 'ping', 'none'].includes(END_SESSION)) {
  throw new Error(`END_SESSION must be standard, ping or none, got ${JSON.stringify(END_SESSION)}`);
}
const PING_SLO_PATH = '/idp/startSLO.ping';

const DEFAULT_CLIENTS = [{
  client_id: 'rp',
  client_secret: 'rp-secret',
  redirect_uris: ['http://127.0.0.1:3000/auth/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1:3000/'],
  token_endpoint_auth_method: 'client_secret_basic',
}];

const CLIENTS = (() => {
  const raw = process.env.CLIENTS;
  const clients = raw ? JSON.parse(raw) : DEFAULT_CLIENTS;
  if (!Array.isArray(clients)) throw new Error('CLIENTS must be a JSON array');
  return clients.map((client) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // Like Ping: ID tokens and logout tokens carry `sid` for back-channel logout clients.
    ...(client.backchannel_logout_uri ? { backchannel_logout_session_required: true } : {}),
    ...client,
  }));
})();

// Endpoint routes, relative to the issuer's path (oidc-provider prefixes the issuer's path).
const ROUTES = SHAPE === 'pingone'
  ? {
    authorization: '/authorize',
    token: '/token',
    userinfo: '/userinfo',
    jwks: '/jwks',
    revocation: '/revoke',
    introspection: '/introspect',
    end_session: '/signoff',
    pushed_authorization_request: '/par',
  }
  : {
    authorization: '/as/authorization.oauth2',
    token: '/as/token.oauth2',
    userinfo: '/idp/userinfo.openid',
    jwks: '/pf/JWKS',
    revocation: '/as/revoke_token.oauth2',
    introspection: '/as/introspect.oauth2',
    end_session: '/idp/init_logout.openid',
    pushed_authorization_request: '/as/par.oauth2',
  };

// Path prefix under which the provider is mounted ('' for PingFederate).
const MOUNT = SHAPE === 'pingone' ? `/${ENV_ID}/as` : '';

// ---------------------------------------------------------------------------------------------
// test-visible state

function emptyStats() {
  return {
    token: { authorization_code: 0, refresh_token: 0, other: 0 },
    token_errors: 0,
    revocations: 0,
    introspections: 0,
    jwks: 0,
    end_sessions: 0,
    ping_slo: 0,
    userinfo: 0,
    backchannel_logouts: { success: 0, error: 0 },
    // Successful client authentications by endpoint and method, e.g. "token private_key_jwt".
    client_auth: {},
  };
}

let stats = emptyStats();
const issuedRefreshTokens = [];
const revokedTokens = []; // the `token` of every revocation request, in order
const issuedRefreshTokenSet = new Set();

// ---------------------------------------------------------------------------------------------
// storage: an in-memory adapter of our own, so /__test/sessions can see live sessions

const store = new Map(); // "Model:id" -> { payload, expiresAt (ms) | Infinity }
const sessionUids = new Map(); // session uid -> session id
const userCodes = new Map(); // user code -> id
const grantMembers = new Map(); // grantId -> Set("Model:id")
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
const STORE_GRACE_MS = 60_000; // oidc-provider judges expiry itself; keep entries a bit longer

function liveEntry(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry;
}

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number'
      ? Date.now() + expiresIn * 1000 + STORE_GRACE_MS
      : Infinity;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    return liveEntry(this.key(id))?.payload;
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = liveEntry(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const entry = store.get(key);
    store.delete(key);
    if (entry?.payload?.uid && sessionUids.get(entry.payload.uid) === id) {
      sessionUids.delete(entry.payload.uid);
    }
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

function activeSessions() {
  const accounts = {};
  let active = 0;
  for (const [key] of store) {
    if (!key.startsWith('Session:')) continue;
    const entry = liveEntry(key);
    const accountId = entry?.payload?.accountId;
    if (!accountId) continue; // sessions without a login (e.g. a bare logout request)
    const exp = entry.payload.exp;
    if (typeof exp === 'number' && exp * 1000 <= Date.now()) continue;
    active += 1;
    accounts[accountId] = (accounts[accountId] || 0) + 1;
  }
  return { active, accounts };
}

// ---------------------------------------------------------------------------------------------
// accounts

function accountClaims(accountId) {
  if (accountId === 'alice') {
    return {
      sub: 'alice',
      name: 'Alice Example',
      given_name: 'Alice',
      family_name: 'Example',
      preferred_username: 'alice',
      email: 'alice@example.test',
      email_verified: true,
    };
  }
  return {
    sub: accountId,
    name: `${accountId} Example`,
    preferred_username: accountId,
    email: `${accountId}@example.test`,
    email_verified: true,
  };
}

// ---------------------------------------------------------------------------------------------
// outgoing requests (back-channel logout, jwks_uri, ...): loopback only

function isLoopbackHost(hostname) {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

// oidc-provider hands `fetch` an undici dispatcher that refuses special-use addresses (SSRF
// protection), which includes 127.0.0.0/8, so back-channel logout to a test RP on 127.0.0.1
// would fail. That dispatcher is dropped here and replaced by the opposite rule: loopback only.
async function loopbackOnlyFetch(url, options = {}) {
  const target = new URL(url);
  if (!isLoopbackHost(target.hostname)) {
    throw new Error(`interop provider refuses to contact ${target.host}: loopback only`);
  }
  const { dispatcher: _ssrfGuard, ...rest } = options;
  return globalThis.fetch(url, rest);
}

// ---------------------------------------------------------------------------------------------
// plain pages (no external resources: the stock ones load web fonts)

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head><body>${body}</body></html>`;
}

// ---------------------------------------------------------------------------------------------
// start listening first (PORT=0 needs the real port for the issuer), then build the provider

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const BASE = `http://127.0.0.1:${port}`;
const ISSUER = `${BASE}${MOUNT}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

const RESOURCES = JSON.parse(process.env.RESOURCES || '{}');
const OPAQUE_RESOURCES = new Set(JSON.parse(process.env.OPAQUE_RESOURCES || '[]'));
const PAR = (process.env.PAR || 'on').toLowerCase();
if (!['on', 'required', 'off'].includes(PAR)) {
  throw new Error(`PAR must be on, required or off, got ${JSON.stringify(PAR)}`);
}
const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'orders:read', 'orders:write'];
const SCOPE_SET = new Set(SCOPES);

const configuration = {
  ...(END_SESSION === 'ping'
    ? { discovery: { claim_types_supported: ['normal'], ping_end_session_endpoint: `${BASE}${PING_SLO_PATH}` } }
    : {}),
  adapter: TestAdapter,
  clients: CLIENTS,
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    id_token_signed_response_alg: 'RS256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  jwks: { keys: [signingKey] },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: SCOPES,
  conformIdTokenClaims: CONFORM_ID_TOKEN_CLAIMS,
  responseTypes: ['code'],
  pkce: { required: () => true },
  routes: ROUTES,
  fetch: loopbackOnlyFetch,
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    IdToken: ID_TOKEN_TTL,
    RefreshToken: REFRESH_TOKEN_TTL,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 86400,
    Grant: 86400,
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  extraTokenClaims: async (_ctx, token) => (
    TOKEN_ACR && token.kind === 'ClientCredentials'
      ? { acr: TOKEN_ACR, auth_time: Math.floor(Date.now() / 1000) - TOKEN_AUTH_AGE }
      : undefined
  ),
  rotateRefreshToken: true,
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => accountClaims(sub),
  }),
  acrValues: ACR_VALUES,
  interactions: {
    policy,
    url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
  features: {
    devInteractions: { enabled: false },
    // Worker clients (grant_types ["client_credentials"], response_types []).
    clientCredentials: { enabled: true },
    // Signed request objects (RFC 9101), required per client by `require_signed_request_object`.
    requestObjects: { enabled: true },
    // DPoP (RFC 9449): a token request with a `DPoP` proof gets a key-bound token (`cnf.jkt`).
    dPoP: { enabled: true },
    pushedAuthorizationRequests: {
      enabled: PAR !== 'off',
      requirePushedAuthorizationRequests: PAR === 'required',
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      // A code exchange without `resource` keeps giving the userinfo token.
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, indicator) => {
        const scope = RESOURCES[indicator];
        if (!scope) throw new oidcErrors.InvalidTarget();
        if (OPAQUE_RESOURCES.has(indicator)) {
          return { scope, audience: indicator, accessTokenTTL: ACCESS_TOKEN_TTL, accessTokenFormat: 'opaque' };
        }
        return {
          scope,
          audience: indicator,
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => (
        client.clientAuthMethod !== 'none' || token.clientId === client.clientId
      ),
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: END_SESSION === 'standard',
      // Only shown if the automatic confirmation below fails.
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<p>Signed out.</p>');
      },
    },
  },
};

let provider;
try {
  provider = new Provider(ISSUER, configuration);
  // Static clients are only validated when first used: validate them now so a bad CLIENTS
  // fails the start instead of the first request.
  for (const { client_id: clientId } of CLIENTS) {
    if (!await provider.Client.find(String(clientId))) throw new Error(`client ${clientId} not found`);
  }
} catch (err) {
  console.error('failed to configure oidc-provider:', err?.error_description ?? '', err);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// provider events

provider.on('refresh_token.saved', (token) => {
  if (!issuedRefreshTokenSet.has(token.jti)) {
    issuedRefreshTokenSet.add(token.jti);
    issuedRefreshTokens.push(token.jti);
  }
});
provider.on('backchannel.success', () => { stats.backchannel_logouts.success += 1; });
provider.on('backchannel.error', (_ctx, err) => {
  stats.backchannel_logouts.error += 1;
  console.error('back-channel logout failed:', err?.message ?? err);
});
provider.on('server_error', (_ctx, err) => console.error('server_error:', err));

// ---------------------------------------------------------------------------------------------
// koa middleware around the provider's routes: counters and automatic logout confirmation

function setCookieList(ctx) {
  const raw = ctx.response.get('set-cookie');
  if (!raw) return [];
  return Array.isArray(raw) ? raw : [raw];
}

function cookieNameOf(setCookie) {
  const pair = setCookie.split(';', 1)[0];
  return pair.slice(0, pair.indexOf('=')).trim();
}

// The cookies the browser would send next: the request's, updated by this response's Set-Cookie.
function cookieHeaderAfter(ctx) {
  const jar = new Map();
  for (const part of (ctx.get('cookie') || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const setCookie of setCookieList(ctx)) {
    const pair = setCookie.split(';', 1)[0];
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!value || /expires=thu, 01 jan 1970/i.test(setCookie)) jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

// oidc-provider's end-session endpoint answers with a confirmation page whose form POSTs
// {xsrf, logout} to <end_session>/confirm. Ping signs out without asking, so once the page is
// rendered (and the session state holding the xsrf secret is saved), this posts the
// confirmation itself over loopback with the caller's cookies and hands the caller the result:
// the 303 to post_logout_redirect_uri?state=... plus the Set-Cookie clearing _session.
async function autoConfirmLogout(ctx) {
  const secret = ctx.oidc.entities.Session?.state?.secret;
  if (!secret) return;
  const confirmPath = new URL(ctx.oidc.urlFor('end_session_confirm')).pathname;
  const response = await globalThis.fetch(`${BASE}${confirmPath}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookieHeaderAfter(ctx),
    },
    body: new URLSearchParams({ xsrf: secret, logout: 'yes' }).toString(),
  });
  const location = response.headers.get('location');
  if (response.status < 300 || response.status >= 400 || !location) {
    console.error(`automatic logout confirmation failed: HTTP ${response.status}`, await response.text());
    return;
  }
  const confirmCookies = response.headers.getSetCookie();
  const replaced = new Set(confirmCookies.map(cookieNameOf));
  const kept = setCookieList(ctx).filter((c) => !replaced.has(cookieNameOf(c)));
  ctx.set('set-cookie', [...kept, ...confirmCookies]);
  ctx.status = 303;
  ctx.redirect(location);
}

provider.use(async (ctx, next) => {
  await next();
  const route = ctx._matchedRouteName;
  const authMethod = ctx.oidc?.client?.clientAuthMethod;
  if (ctx.method === 'POST' && ctx.status < 400 && authMethod
      && ['token', 'revocation', 'introspection', 'pushed_authorization_request'].includes(route)) {
    const key = `${route} ${authMethod}`;
    stats.client_auth[key] = (stats.client_auth[key] ?? 0) + 1;
  }
  switch (route) {
    case 'token': {
      if (ctx.method !== 'POST') break;
      let grantType;
      try { grantType = ctx.oidc?.body?.grant_type; } catch { grantType = undefined; }
      if (grantType === 'authorization_code' || grantType === 'refresh_token') {
        stats.token[grantType] += 1;
      } else {
        stats.token.other += 1;
      }
      if (ctx.status >= 400) stats.token_errors += 1;
      break;
    }
    case 'revocation':
      if (ctx.method === 'POST') {
        stats.revocations += 1;
        let token;
        try { token = ctx.oidc?.body?.token; } catch { token = undefined; }
        if (typeof token === 'string') revokedTokens.push(token);
      }
      break;
    case 'introspection':
      if (ctx.method === 'POST') stats.introspections += 1;
      break;
    case 'jwks':
      if (ctx.method === 'GET') stats.jwks += 1;
      break;
    case 'userinfo':
      if (ctx.method === 'GET' || ctx.method === 'POST') stats.userinfo += 1;
      break;
    case 'end_session':
      if (ctx.method === 'GET' || ctx.method === 'POST') {
        stats.end_sessions += 1;
        if (ctx.status === 200) await autoConfirmLogout(ctx);
      }
      break;
    default:
      break;
  }
});

// ---------------------------------------------------------------------------------------------
// automatic interaction: log in ACCOUNT_ID and grant everything that was asked for

function loginAcr(requested) {
  const first = String(requested ?? '').split(' ').find((acr) => ACR_VALUES.includes(acr));
  return process.env.LOWER_ACR === '1' ? 'Single_Factor' : (first ?? 'Single_Factor');
}

// Set by POST /__test/next-login; used by one login interaction.
let nextLoginAccount;

async function completeInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { params, session, grantId } = details;
  const promptDetails = details.prompt?.details ?? {};
  const accountId = nextLoginAccount ?? session?.accountId ?? ACCOUNT_ID;
  nextLoginAccount = undefined;

  let grant = grantId ? await provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }

  const requested = String(params.scope ?? '').split(' ').filter((s) => SCOPE_SET.has(s));
  const oidcScopes = new Set([...requested, ...(promptDetails.missingOIDCScope ?? [])]);
  if (oidcScopes.size) grant.addOIDCScope([...oidcScopes].join(' '));
  if (promptDetails.missingOIDCClaims?.length) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }

  const savedGrantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId, amr: ['pwd'], remember: true, acr: loginAcr(params.acr_values) },
    consent: { grantId: savedGrantId },
  }, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------------------------------------
// HTTP front: test hooks, interactions, the provider (with the PingOne prefix stripped)

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function readAll(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function signWithProviderKey(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', kid: signingKey.kid, typ: 'at+jwt' })}.${part(claims)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  return `${input}.${signature}`;
}

async function testHook(req, res, pathname) {
  switch (`${req.method} ${pathname}`) {
    case 'GET /__test/stats':
      return sendJson(res, 200, stats);
    case 'POST /__test/reset':
      stats = emptyStats();
      return sendJson(res, 200, stats);
    case 'GET /__test/refresh-tokens':
      return sendJson(res, 200, issuedRefreshTokens);
    case 'GET /__test/revoked-tokens':
      return sendJson(res, 200, revokedTokens);
    case 'GET /__test/sessions':
      return sendJson(res, 200, activeSessions());
    case 'POST /__test/next-login': {
      const accountId = JSON.parse(await readAll(req)).account_id;
      if (typeof accountId !== 'string' || !accountId) return sendJson(res, 400, { error: 'account_id' });
      // Used by the next login interaction, whichever client or test step starts it.
      nextLoginAccount = accountId;
      for (const key of [...store.keys()]) if (key.startsWith('Session:')) store.delete(key);
      sessionUids.clear();
      return sendJson(res, 200, { account_id: accountId });
    }
    case 'POST /__test/sign':
      return sendJson(res, 200, { jwt: signWithProviderKey(JSON.parse(await readAll(req))) });
    default:
      return sendJson(res, 404, { error: 'not_found', path: pathname });
  }
}

// PingFederate's startSLO.ping, as far as a relying party sees it: it redirects to
// TargetResource when that is a registered post-logout URI.
function pingSlo(req, res) {
  stats.ping_slo += 1;
  const target = new URL(req.url, BASE).searchParams.get('TargetResource');
  const allowed = CLIENTS.some((c) => (c.post_logout_redirect_uris ?? []).includes(target));
  if (!allowed) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'TargetResource is not registered' });
    return;
  }
  res.writeHead(302, { location: target });
  res.end();
}

const providerCallback = provider.callback();

server.on('request', async (req, res) => {
  if (LOG_REQUESTS) {
    res.on('finish', () => console.error(`${req.method} ${req.originalUrl ?? req.url} -> ${res.statusCode}`));
  }
  try {
    const { pathname } = new URL(req.url, BASE);
    if (pathname.startsWith('/__test/')) {
      await testHook(req, res, pathname);
      return;
    }
    if (END_SESSION === 'ping' && pathname === PING_SLO_PATH && req.method === 'GET') {
      pingSlo(req, res);
      return;
    }
    if (/^\/interaction\/[^/]+$/.test(pathname) && req.method === 'GET') {
      await completeInteraction(req, res);
      return;
    }
    if (MOUNT) {
      if (pathname !== MOUNT && !pathname.startsWith(`${MOUNT}/`)) {
        sendJson(res, 404, { error: 'not_found', path: pathname });
        return;
      }
      // Mounted like express/koa-mount would: oidc-provider derives the mount path from
      // originalUrl vs url.
      req.originalUrl = req.url;
      req.url = req.url.slice(MOUNT.length) || '/';
      if (req.url.startsWith('?')) req.url = `/${req.url}`;
    }
    providerCallback(req, res);
  } catch (err) {
    console.error(`${req.method} ${req.url} failed:`, err);
    if (!res.headersSent) {
      sendJson(res, err?.statusCode ?? 500, {
        error: err?.error ?? 'server_error',
        error_description: err?.error_description ?? err?.message ?? String(err),
      });
    } else {
      res.destroy();
    }
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

process.stdout.write(`${JSON.stringify({ ready: true, issuer: ISSUER, port })}\n`);
