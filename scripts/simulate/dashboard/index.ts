/**
 * The live dashboard of the local simulator: a page on localhost that polls GET api/state (the
 * current {@link SimSnapshot} as JSON) once a second and renders it. The server only serves; the
 * page (public/, plain ES modules, no build step) does all the drawing, with uPlot served from
 * node_modules (the machine has no CDN) and the console's shared modules (console/src/lib) at lib/.
 * Given a console (`npm start`), the server also serves the traffic controllers' console at / and
 * the simulator's panel moves to /simulator/.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import type { SimSnapshot } from '../state.js';
import type { FastifyPluginAsync } from 'fastify';

export interface DashboardOptions {
  /** TCP port to listen on; 0 picks a free one (read it back from `url`). */
  port: number;
  /** Interface to bind. Default 127.0.0.1: the dashboard has no authentication. */
  host?: string;
  /** Called on every GET api/state; must be cheap (the page polls once a second). */
  snapshot: () => SimSnapshot;
  /**
   * The traffic controllers' console (scripts/simulate/console-server.ts), served at / on the same
   * port; the simulator's panel is then at /simulator/.
   */
  console?: FastifyPluginAsync;
}

export interface Dashboard {
  /** Where the simulator's panel is, e.g. `http://127.0.0.1:43127/` (`…/simulator/` with a console). */
  url: string;
  /** Where the console is (with a console): the server's root. */
  consoleUrl?: string;
  /** Stops listening and drops open connections; calling it again returns the same promise. */
  close(): Promise<void>;
}

export class DashboardOptionsError extends Error {
  override name = 'DashboardOptionsError';
}

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
/** The console's modules the panel shares (DOM helpers, formats, the zone grid, base styles). */
const SHARED_LIB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'console', 'src', 'lib');
/** Where the simulator's panel is when the server also serves the console. */
export const SIMULATOR_PREFIX = '/simulator/';
/** uPlot's dist/ folder (its `main` is dist/uPlot.cjs.js); the page loads uPlot.esm.js and uPlot.min.css. */
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));

/**
 * Everything the page loads comes from this server; the page builds its DOM with textContent, and
 * this policy is the second line of defence should data (zone ids, quarantine reasons) ever reach
 * markup. `style-src 'self'` still lets scripts set element.style (CSSOM), which uPlot uses.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function validate(options: DashboardOptions): void {
  const problems: string[] = [];
  const { port, host, snapshot } = options ?? ({} as DashboardOptions);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push(`port: got ${JSON.stringify(port)}, expected an integer 0-65535 (0 = any free port)`);
  }
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    problems.push(`host: got ${JSON.stringify(host)}, expected an interface address such as 127.0.0.1`);
  }
  if (typeof snapshot !== 'function') {
    problems.push(`snapshot: got ${typeof snapshot}, expected a function returning a SimSnapshot`);
  }
  if (problems.length > 0) throw new DashboardOptionsError(`startDashboard: ${problems.join('; ')}`);
}

/** Starts the dashboard server; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  validate(options);
  const { port, host = '127.0.0.1', snapshot } = options;
  const prefix = options.console ? SIMULATOR_PREFIX : '/';
  // forceCloseConnections: close() must not wait out a browser's keep-alive (72 s by default).
  const app = Fastify({ logger: false, forceCloseConnections: true });

  app.addHook('onSend', async (request, reply, payload) => {
    // The console sets its own headers (those of the deployed console's CloudFront policy).
    if (!request.url.startsWith(prefix)) return payload;
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    return payload;
  });

  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix });
  await app.register(fastifyStatic, { root: UPLOT_DIR, prefix: `${prefix}vendor/uplot/`, decorateReply: false });
  await app.register(fastifyStatic, { root: SHARED_LIB_DIR, prefix: `${prefix}lib/`, decorateReply: false });

  app.get(`${prefix}api/state`, async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return snapshot();
  });
  if (options.console) {
    app.get(SIMULATOR_PREFIX.slice(0, -1), async (_request, reply) => reply.redirect(SIMULATOR_PREFIX));
    await app.register(options.console);
  }

  await app.listen({ port, host });
  const address = app.server.address() as AddressInfo;
  // Bound to every interface: point the URL at this machine, where a browser can open it.
  const reachable = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
  const shownHost = reachable.includes(':') ? `[${reachable}]` : reachable;
  let closing: Promise<void> | undefined;
  const root = `http://${shownHost}:${address.port}/`;
  return {
    url: `${root.slice(0, -1)}${prefix}`,
    ...(options.console ? { consoleUrl: root } : {}),
    close: () => (closing ??= app.close()),
  };
}
