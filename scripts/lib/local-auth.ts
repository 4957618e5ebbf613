/**
 * Sign-in for the console on this machine, with the same protocol and checks as the deployed
 * stack, so that the page and the API handler run unchanged:
 *
 * - LocalIssuer stands in for the Cognito user pool and its hosted sign-in: an OAuth 2.0
 *   authorization-code flow with PKCE (S256) at `<issuer>/oauth2/authorize` and `/oauth2/token`,
 *   a `/logout`, and tokens shaped as Cognito's (access token: `client_id`, `username`,
 *   `cognito:groups`, `scope`, `token_use: access`; ID token: `aud`, `cognito:username`, `email`),
 *   signed RS256 with a key made at start (JWKS at `<issuer>/.well-known/jwks.json`).
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-with-identity-providers.html
 * - authorize() is API Gateway's JWT authorizer: the token from the Authorization header (a
 *   "Bearer " prefix allowed), its signature by a key of the issuer's set (kid), then iss, aud or
 *   client_id (client_id only when there is no aud), exp, nbf, iat and the route's scopes; a 401
 *   `{"message":"Unauthorized"}` with a `www-authenticate` header otherwise
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html,
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html).
 *   The claims go to the integration as API Gateway passes them: every value a string, an array
 *   as "[a b]".
 *
 * jose (the JOSE standard library for JavaScript) signs and verifies.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { CONSOLE_GROUPS, CONSOLE_SCOPE, type ConsoleGroup } from '../../contract';

export interface LocalUser {
  username: string;
  email: string;
  groups: readonly string[];
  /** Shown on the local sign-in page (users without it exist for tests only). */
  label?: string;
}

/** The two people of a local run: a controller and a supervisor. */
export const LOCAL_USERS: readonly LocalUser[] = [
  { username: 'local-controller', email: 'controller@tapstack.local', groups: ['controllers'], label: 'Local controller (group controllers)' },
  { username: 'local-supervisor', email: 'supervisor@tapstack.local', groups: ['supervisors'], label: 'Local supervisor (group supervisors)' },
];

export const LOCAL_CLIENT_ID = 'tapstack-local-console';
/** The scopes the page asks for, as the deployed app client allows them. */
export const CONSOLE_SIGN_IN_SCOPES = ['openid', 'email', 'profile', CONSOLE_SCOPE.full] as const;
/** Token lifetimes: those of the deployed app client (template/layers/console.ts TOKEN_VALIDITY). */
const ACCESS_SECONDS = 3_600;
const REFRESH_SECONDS = 12 * 3_600;
/** An authorization code is good for this long, once (Cognito: 5 minutes). */
const CODE_MS = 5 * 60_000;

interface PendingCode {
  user: LocalUser;
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  nonce?: string;
  expiresAt: number;
}

export interface SignOptions {
  /** Seconds from now; negative for an expired token. */
  expiresInSeconds?: number;
  clientId?: string;
  scope?: string;
  /** Another issuer's name in `iss` (a token of another pool). */
  issuer?: string;
}

export class LocalIssuer {
  private codes = new Map<string, PendingCode>();
  private refreshTokens = new Map<string, { user: LocalUser; scope: string; expiresAt: number }>();

  private constructor(
    /** `iss` of every token, and where the endpoints are: `<origin>/auth` (see bindOrigin). */
    public issuer: string,
    private readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    private readonly kid: string,
    readonly keys: JSONWebKeySet,
    readonly users: readonly LocalUser[],
    readonly clientId: string,
  ) {}

  static async create(issuer: string, users: readonly LocalUser[] = LOCAL_USERS, clientId = LOCAL_CLIENT_ID): Promise<LocalIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return new LocalIssuer(issuer.replace(/\/$/, ''), privateKey, kid, { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] }, users, clientId);
  }

  /** Where the issuer is, once its server listens (`npm start` may pick a free port). */
  bindOrigin(origin: string): void {
    this.issuer = `${origin.replace(/\/$/, '')}/auth`;
  }

  user(username: string): LocalUser {
    const user = this.users.find((u) => u.username === username);
    if (!user) throw new Error(`No local user ${username}`);
    return user;
  }

  /** The endpoints the page uses (config.json), as Cognito's are laid out under its domain. */
  endpoints() {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/oauth2/authorize`,
      token_endpoint: `${this.issuer}/oauth2/token`,
      end_session_endpoint: `${this.issuer}/logout`,
      jwks_uri: `${this.issuer}/.well-known/jwks.json`,
    };
  }

  /** An access token for a user, as Cognito signs it. */
  async accessToken(user: LocalUser, options: SignOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      'cognito:groups': [...user.groups],
      client_id: options.clientId ?? this.clientId,
      username: user.username,
      scope: options.scope ?? CONSOLE_SIGN_IN_SCOPES.join(' '),
      token_use: 'access',
      auth_time: now,
      version: 2,
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid })
      .setIssuer(options.issuer ?? this.issuer)
      .setSubject(randomUUIDFor(user.username))
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? ACCESS_SECONDS))
      .sign(this.privateKey);
  }

  /** An ID token (what the page shows: who is signed in). */
  async idToken(user: LocalUser, nonce?: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      'cognito:groups': [...user.groups],
      'cognito:username': user.username,
      email: user.email,
      email_verified: true,
      token_use: 'id',
      auth_time: now,
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid })
      .setIssuer(this.issuer)
      .setAudience(this.clientId)
      .setSubject(randomUUIDFor(user.username))
      .setIssuedAt(now)
      .setExpirationTime(now + ACCESS_SECONDS)
      .sign(this.privateKey);
  }

  /** Step 1 of the code flow: the user chose to sign in; answers the code to redirect with. */
  issueCode(request: { username: string; clientId: string; redirectUri: string; codeChallenge: string; codeChallengeMethod: string; scope: string; nonce?: string }): string {
    if (request.clientId !== this.clientId) throw new AuthFlowError('invalid_client', `Unknown client_id '${request.clientId}'`);
    if (request.codeChallengeMethod !== 'S256' || !/^[A-Za-z0-9_-]{43,128}$/.test(request.codeChallenge)) {
      throw new AuthFlowError('invalid_request', 'A PKCE code_challenge with code_challenge_method=S256 is required');
    }
    const user = this.users.find((u) => u.username === request.username);
    if (!user) throw new AuthFlowError('access_denied', `Unknown user '${request.username}'`);
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, {
      user,
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      challenge: request.codeChallenge,
      scope: request.scope,
      ...(request.nonce ? { nonce: request.nonce } : {}),
      expiresAt: Date.now() + CODE_MS,
    });
    return code;
  }

  /** Step 2: the token endpoint (authorization_code with its PKCE verifier, or refresh_token). */
  async token(form: URLSearchParams): Promise<Record<string, unknown>> {
    const grant = form.get('grant_type');
    if (form.get('client_id') !== this.clientId) throw new AuthFlowError('invalid_client', 'Unknown client_id');
    if (grant === 'authorization_code') {
      const code = form.get('code') ?? '';
      const pending = this.codes.get(code);
      this.codes.delete(code);
      if (!pending || pending.expiresAt < Date.now()) throw new AuthFlowError('invalid_grant', 'The code is unknown, used or expired');
      if (pending.redirectUri !== form.get('redirect_uri')) throw new AuthFlowError('invalid_grant', 'redirect_uri differs from the authorization request');
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) throw new AuthFlowError('invalid_grant', 'The PKCE code_verifier does not match the code_challenge');
      const refresh = randomBytes(32).toString('base64url');
      this.refreshTokens.set(refresh, { user: pending.user, scope: pending.scope, expiresAt: Date.now() + REFRESH_SECONDS * 1000 });
      return {
        access_token: await this.accessToken(pending.user, { scope: pending.scope }),
        id_token: await this.idToken(pending.user, pending.nonce),
        refresh_token: refresh,
        token_type: 'Bearer',
        expires_in: ACCESS_SECONDS,
      };
    }
    if (grant === 'refresh_token') {
      const held = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!held || held.expiresAt < Date.now()) throw new AuthFlowError('invalid_grant', 'The refresh token is unknown or expired');
      return { access_token: await this.accessToken(held.user, { scope: held.scope }), id_token: await this.idToken(held.user), token_type: 'Bearer', expires_in: ACCESS_SECONDS };
    }
    throw new AuthFlowError('unsupported_grant_type', `grant_type '${grant}' is not supported`);
  }
}

/** A sub per user name, stable within a run. */
const subs = new Map<string, string>();
const randomUUIDFor = (username: string) => {
  let sub = subs.get(username);
  if (!sub) subs.set(username, (sub = randomUUID()));
  return sub;
};

export class AuthFlowError extends Error {
  override name = 'AuthFlowError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** API Gateway's refusal: status, headers and body as the authorizer sends them. */
export interface Refusal {
  status: 401 | 403;
  headers: Record<string, string>;
  body: string;
}

/**
 * API Gateway's JWT authorizer for one route: the verified claims in the form the integration
 * receives them, or the refusal API Gateway would answer.
 */
export async function authorize(
  authorization: string | undefined,
  expected: { keys: JSONWebKeySet; issuer: string; audience: readonly string[]; scopes: readonly string[] },
): Promise<{ claims: Record<string, string>; scopes: string[] } | Refusal> {
  const refuse = (description: string): Refusal => ({
    status: 401,
    headers: { 'www-authenticate': `Bearer scope="${expected.scopes.join(' ')}" error="invalid_token" error_description="${description}"`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'Unauthorized' }),
  });
  if (!authorization) return refuse('the request has no token');
  const token = authorization.replace(/^Bearer /, '').trim();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(expected.keys), { issuer: expected.issuer, algorithms: ['RS256'] }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return refuse('the token has expired');
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iss') return refuse('the token does not have a valid issuer');
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) return refuse('the token was not signed by the issuer');
    return refuse('the token is not valid');
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat === 'number' && payload.iat > now + 5) return refuse('the token was issued in the future');
  // API Gateway validates client_id only if aud is not present.
  const audiences = payload.aud !== undefined ? (Array.isArray(payload.aud) ? payload.aud : [payload.aud]) : [String(payload.client_id ?? '')];
  if (!audiences.some((a) => expected.audience.includes(a))) return refuse('the token does not have a valid audience');
  const scopes = String(payload.scope ?? payload.scp ?? '').split(' ').filter(Boolean);
  if (expected.scopes.length > 0 && !expected.scopes.some((s) => scopes.includes(s))) {
    return {
      status: 403,
      headers: { 'www-authenticate': `Bearer scope="${expected.scopes.join(' ')}" error="insufficient_scope" error_description="the token does not have the route's scope"`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Forbidden' }),
    };
  }
  const claims = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(' ')}]` : String(v)]));
  return { claims, scopes };
}

/** The groups a local user may be given (contract/console.ts). */
export const isConsoleGroup = (group: string): group is ConsoleGroup => (CONSOLE_GROUPS as readonly string[]).includes(group);
