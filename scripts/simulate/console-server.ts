/**
 * The traffic controllers' console on this machine, as the deployed stack serves it: the console's
 * build (dist/console, `npm run build:console`) with CloudFront's behaviour (its security headers,
 * extension-less paths answered with index.html, hashed assets cached for a year, index.html
 * never), the local token issuer where Cognito's hosted sign-in would be (/auth), and /api/*
 * through API Gateway's JWT authorizer (scripts/lib/local-auth.ts) to the console API handler, the
 * same code Lambda runs (a container of the built bundle, `index.consoleApi`).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CONSOLE_ROUTES, CONSOLE_SCOPE, consoleContentSecurityPolicy } from '../../contract';
import type { ConsolePageConfig } from '../lib/console-config';
import { AuthFlowError, authorize, CONSOLE_SIGN_IN_SCOPES, type LocalIssuer } from '../lib/local-auth';

export type ConsoleInvoke = (event: APIGatewayProxyEventV2WithJWTAuthorizer) => Promise<APIGatewayProxyStructuredResultV2 | string | undefined>;

export interface ConsoleServerOptions {
  /** The console's build: index.html and assets/. */
  distDir: string;
  issuer: LocalIssuer;
  /** Runs the console API handler on one event (payload format 2.0). */
  invoke: ConsoleInvoke;
  environment: string;
  /** Map tiles (empty: the schematic map). */
  map?: { tileUrl: string; attribution: string };
}

export class ConsoleBuildMissingError extends Error {
  override name = 'ConsoleBuildMissingError';
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** The routes as API Gateway matches them: method and path, `{name}` a path segment. */
const ROUTES = Object.values(CONSOLE_ROUTES).map((key) => {
  const [method, path] = key.split(' ') as [string, string];
  const names: string[] = [];
  const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, (_m, name: string) => (names.push(name), '([^/]+)'))}$`);
  return { key, method, pattern, names };
});

/** The response headers of the deployed console's CloudFront policy (HSTS left out: this server is plain http on the loopback). */
function securityHeaders(reply: FastifyReply, tileOrigin: string | undefined): void {
  reply.header('content-security-policy', consoleContentSecurityPolicy({ img: tileOrigin ? [tileOrigin] : [] }));
  reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The hosted sign-in page: one button per local user (no script, no inline style). */
function signInPage(issuer: LocalIssuer, params: URLSearchParams): string {
  const hidden = ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scope', 'nonce', 'response_type']
    .filter((n) => params.get(n) !== null)
    .map((n) => `<input type="hidden" name="${n}" value="${escapeHtml(params.get(n)!)}">`)
    .join('\n      ');
  const buttons = issuer.users
    .filter((u) => u.label)
    .map((u) => `<button type="submit" name="username" value="${escapeHtml(u.username)}">${escapeHtml(u.label!)}</button>`)
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · TapStack local sign-in</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="signin.css">
</head>
<body>
  <main>
    <h1>Sign in to the traffic console</h1>
    <p>This machine's stand-in for the Cognito hosted sign-in: choose who you are. The tokens are signed here and checked by the API's authorizer as Cognito's would be.</p>
    <form method="post" action="authorize">
      ${hidden}
      ${buttons}
    </form>
  </main>
</body>
</html>`;
}

const SIGN_IN_CSS = `body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}main{max-width:32rem;margin:4rem auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem}form{display:flex;flex-direction:column;gap:.75rem}button{font:inherit;padding:.7rem 1rem;border-radius:6px;border:1px solid #2563eb;background:#2563eb;color:#fff;cursor:pointer}button:focus-visible{outline:3px solid #1b1f24;outline-offset:2px}`;

/** The console build's index.html; throws ConsoleBuildMissingError, naming the command that builds it, unless `distDir` holds it. */
export function requireConsoleBuild(distDir: string): string {
  const indexPath = join(distDir, 'index.html');
  if (!existsSync(indexPath)) throw new ConsoleBuildMissingError(`${indexPath} is missing: run npm run build:console (npm start does)`);
  return indexPath;
}

/** The console's routes on the dashboard's server. */
export function consolePlugin(options: ConsoleServerOptions): FastifyPluginAsync {
  const { distDir, issuer } = options;
  const indexPath = requireConsoleBuild(distDir);
  const tileOrigin = options.map?.tileUrl ? new URL(options.map.tileUrl.replace(/[{}]/g, '')).origin : undefined;
  const requiredScopes = [CONSOLE_SCOPE.full];

  return async (app) => {
    // Bodies reach the handler as API Gateway passes them: the raw text, whatever its type.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    app.addHook('onSend', async (request, reply, payload) => {
      if (!request.url.startsWith('/simulator')) securityHeaders(reply, tileOrigin);
      return payload;
    });

    app.get('/config.json', async (_request, reply) => {
      const e = issuer.endpoints();
      const config: ConsolePageConfig = {
        environment: options.environment,
        auth: {
          issuer: e.issuer,
          clientId: issuer.clientId,
          authorizationEndpoint: e.authorization_endpoint,
          tokenEndpoint: e.token_endpoint,
          logoutEndpoint: e.end_session_endpoint,
          scope: CONSOLE_SIGN_IN_SCOPES.join(' '),
        },
        api: '/api',
        map: options.map ?? { tileUrl: '', attribution: '' },
      };
      reply.header('cache-control', 'no-cache');
      return config;
    });

    // The hosted sign-in (Cognito's endpoints, under /auth).
    app.get('/auth/.well-known/openid-configuration', async () => ({ ...issuer.endpoints(), response_types_supported: ['code'], code_challenge_methods_supported: ['S256'] }));
    app.get('/auth/.well-known/jwks.json', async () => issuer.keys);
    app.get('/auth/oauth2/signin.css', async (_request, reply) => reply.type('text/css').send(SIGN_IN_CSS));
    app.get('/auth/oauth2/authorize', async (request, reply) => {
      const params = new URLSearchParams(request.url.split('?')[1] ?? '');
      if (params.get('response_type') !== 'code' || params.get('client_id') !== issuer.clientId) {
        return reply.code(400).type('text/plain').send('This sign-in takes response_type=code and the console\'s client_id');
      }
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(signInPage(issuer, params));
    });
    app.post('/auth/oauth2/authorize', async (request, reply) => {
      const form = new URLSearchParams(String(request.body ?? ''));
      const redirectUri = form.get('redirect_uri') ?? '';
      const origin = `http://${request.headers.host}`;
      if (!redirectUri.startsWith(`${origin}/`)) return reply.code(400).type('text/plain').send('redirect_uri must be on this console\'s origin');
      try {
        const code = issuer.issueCode({
          username: form.get('username') ?? '',
          clientId: form.get('client_id') ?? '',
          redirectUri,
          codeChallenge: form.get('code_challenge') ?? '',
          codeChallengeMethod: form.get('code_challenge_method') ?? '',
          scope: form.get('scope') ?? '',
          ...(form.get('nonce') ? { nonce: form.get('nonce')! } : {}),
        });
        const target = new URL(redirectUri);
        target.searchParams.set('code', code);
        if (form.get('state')) target.searchParams.set('state', form.get('state')!);
        return reply.redirect(target.toString(), 302);
      } catch (error) {
        if (error instanceof AuthFlowError) return reply.code(400).type('text/plain').send(`${error.code}: ${error.message}`);
        throw error;
      }
    });
    app.post('/auth/oauth2/token', async (request, reply) => {
      try {
        reply.header('cache-control', 'no-store');
        return await issuer.token(new URLSearchParams(String(request.body ?? '')));
      } catch (error) {
        if (error instanceof AuthFlowError) return reply.code(400).send({ error: error.code, error_description: error.message });
        throw error;
      }
    });
    app.get('/auth/logout', async (request, reply) => {
      const params = new URLSearchParams(request.url.split('?')[1] ?? '');
      const target = params.get('logout_uri') ?? '/';
      return reply.redirect(target.startsWith(`http://${request.headers.host}/`) ? target : '/', 302);
    });

    // API Gateway: route, JWT authorizer, then the integration.
    const api = async (request: FastifyRequest, reply: FastifyReply) => {
      const url = new URL(request.url, `http://${request.headers.host}`);
      const route = ROUTES.map((r) => ({ r, m: r.method === request.method ? r.pattern.exec(url.pathname) : null })).find((x) => x.m);
      if (!route) return reply.code(404).send({ message: 'Not Found' });
      const verdict = await authorize(request.headers.authorization, { keys: issuer.keys, issuer: issuer.issuer, audience: [issuer.clientId], scopes: requiredScopes });
      if ('status' in verdict) return reply.code(verdict.status).headers(verdict.headers).send(verdict.body);
      const pathParameters = Object.fromEntries(route.r.names.map((n, i) => [n, decodeURIComponent(route.m![i + 1]!)]));
      const rawQueryString = url.search.slice(1);
      const now = Date.now();
      const requestId = randomUUID();
      const event = {
        version: '2.0',
        routeKey: route.r.key,
        rawPath: url.pathname,
        rawQueryString,
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])),
        ...(rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) } : {}),
        ...(route.r.names.length ? { pathParameters } : {}),
        requestContext: {
          accountId: '123456789012',
          apiId: 'local',
          domainName: String(request.headers.host),
          domainPrefix: 'local',
          http: { method: request.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: request.ip, userAgent: String(request.headers['user-agent'] ?? '') },
          requestId,
          routeKey: route.r.key,
          stage: '$default',
          time: new Date(now).toISOString(),
          timeEpoch: now,
          authorizer: { jwt: { claims: verdict.claims, scopes: verdict.scopes } },
        },
        ...(typeof request.body === 'string' && request.body !== '' ? { body: request.body } : {}),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
      const result = await options.invoke(event);
      // Payload 2.0: a result without statusCode is a 200 JSON body.
      if (typeof result === 'string' || result === undefined || (result as APIGatewayProxyStructuredResultV2).statusCode === undefined) {
        return reply.code(200).type('application/json').send(typeof result === 'string' ? result : JSON.stringify(result ?? null));
      }
      const r = result as APIGatewayProxyStructuredResultV2;
      reply.code(r.statusCode ?? 200).headers({ 'apigw-requestid': requestId, ...(r.headers as Record<string, string>) });
      return reply.send(r.isBase64Encoded ? Buffer.from(r.body ?? '', 'base64') : (r.body ?? ''));
    };
    app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url: '/api/*', handler: api });

    // CloudFront in front of the bucket: a file, or index.html for the app's routes.
    app.get('/*', async (request, reply) => {
      const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
      if (!extname(path)) {
        return reply.type(MIME['.html']!).header('cache-control', 'no-cache').send(readFileSync(indexPath));
      }
      const file = normalize(join(distDir, path));
      if (!file.startsWith(distDir) || !existsSync(file)) return reply.code(404).type('text/plain').send('Not found');
      const immutable = path.startsWith('/assets/');
      return reply
        .type(MIME[extname(file)] ?? 'application/octet-stream')
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(readFileSync(file));
    });
  };
}
