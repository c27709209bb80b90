import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isCarveError } from '../../errors.js';
import type { EventHub } from '../../event-hub.js';
import type { CarveEvents } from '../../migrate/events.js';
import type { Routing } from '../../routing/model.js';
import { closeServer, DEFAULT_HOST, listen, urlHost } from '../listen.js';
import { startStatusPoller } from '../status-poller.js';
import type { ServicePhaseReader, StatusSnapshot } from '../status-snapshot.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
import { DASHBOARD_STYLE } from './dashboard-style.js';
import { pageMessageOf, type PageMessage } from './page-messages.js';
import {
  hostAllowed,
  originAllowed,
  requestToken,
  SECURITY_HEADERS,
  sendJson,
  TOKEN_COOKIE,
  tokenMatches,
} from './request-auth.js';
import { createSecretMask } from './secret-mask.js';
import {
  actionFailureStatus,
  unavailableActions,
  type ServiceActionName,
  type ServiceActions,
} from './service-actions.js';

export interface DashboardServerOptions {
  routing: Routing;
  /** Every request must carry it (see serve-token.ts). */
  token: string;
  port: number;
  host?: string;
  /** The hub of engines running in this process: their events reach the page as they happen. */
  hub?: EventHub<CarveEvents>;
  /** How often the databases are read (default 2000 ms). */
  pollMs?: number;
  readPhases?: ServicePhaseReader;
  actions?: ServiceActions;
  /** Where action lines (and failed reads of the databases) are written; masked already. */
  log?: (line: string) => void;
}

export interface DashboardServer {
  /** http://host:port/ (without the token). */
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 4096;

/**
 * `carve serve`: the status API, the event stream and the dashboard page, on one port.
 *
 *   GET  /?token=…          sets the token as an HttpOnly, SameSite=Strict cookie, redirects to /
 *   GET  /                  the page (with the cookie); /app.js, /app.css its script and style
 *   GET  /api/status        exactly `carve status --json`, read now
 *   GET  /api/events        server-sent events: snapshot (every poll), lag, note, verify-route, action
 *   POST /api/actions/cutover|rollback  {"service": "…"} — logged, answered with the outcome
 *
 * Every request needs the token (cookie or `Authorization: Bearer`); a loopback server answers only
 * requests addressed to loopback; a POST from another origin is refused. Everything sent is passed
 * through the secret mask, so no password of the plan reaches a page, an answer or a log line.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const host = options.host ?? DEFAULT_HOST;
  const mask = createSecretMask(options.routing, [options.token]);
  const log = (line: string) => options.log?.(mask(line));
  const actions = options.actions ?? unavailableActions;
  const clients = new Set<ServerResponse>();
  let port = options.port;

  const send = (res: ServerResponse, message: PageMessage) => {
    res.write(`event: ${message.type}\ndata: ${JSON.stringify(mask(message))}\n\n`);
  };
  const broadcast = (message: PageMessage) => {
    for (const res of clients) send(res, message);
  };

  let pollFailed = false;
  const poller = startStatusPoller({
    routing: options.routing,
    intervalMs: options.pollMs ?? 2000,
    readPhases: options.readPhases,
    onSnapshot: (snapshot: StatusSnapshot) => {
      pollFailed = false;
      broadcast({ type: 'snapshot', snapshot });
    },
    onError: (error) => {
      if (pollFailed) return;
      pollFailed = true;
      log(
        `carve serve: reading the status failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  });
  const detach = options.hub?.subscribe((envelope) => {
    const message = pageMessageOf(envelope);
    if (message) broadcast(message);
  });
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req, host, port))
      return sendJson(res, 403, refusal('HOST_REFUSED', 'Unknown Host header'));
    const url = new URL(req.url ?? '/', 'http://carve.invalid');
    const path = url.pathname;

    // The link a person opens: the token moves from the URL into a cookie, and the URL loses it.
    const queryToken = url.searchParams.get('token');
    if (req.method === 'GET' && path === '/' && queryToken !== null) {
      if (!tokenMatches(queryToken, options.token)) return unauthorized(res);
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        location: '/',
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(options.token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return res.end();
    }
    if (!tokenMatches(requestToken(req), options.token)) return unauthorized(res);

    if (req.method === 'GET') {
      switch (path) {
        case '/':
          return sendText(res, 'text/html', DASHBOARD_HTML);
        case '/app.js':
          return sendText(res, 'text/javascript', DASHBOARD_SCRIPT);
        case '/app.css':
          return sendText(res, 'text/css', DASHBOARD_STYLE);
        case '/api/status': {
          const snapshot = await poller.refresh();
          return sendJson(res, 200, mask(snapshot.status));
        }
        case '/api/events': {
          res.writeHead(200, {
            ...SECURITY_HEADERS,
            'content-type': 'text/event-stream; charset=utf-8',
            connection: 'keep-alive',
          });
          res.write(': carve events\n\n');
          clients.add(res);
          req.on('close', () => clients.delete(res));
          const latest = poller.latest() ?? (await poller.refresh().catch(() => null));
          if (latest && clients.has(res)) send(res, { type: 'snapshot', snapshot: latest });
          return;
        }
        default:
          return sendJson(res, 404, refusal('NOT_FOUND', `No ${path} here`));
      }
    }
    if (req.method === 'POST' && path.startsWith('/api/actions/')) {
      const action = path.slice('/api/actions/'.length);
      if (action !== 'cutover' && action !== 'rollback')
        return sendJson(res, 404, refusal('NOT_FOUND', `No action ${action}`));
      if (!originAllowed(req))
        return sendJson(res, 403, refusal('ORIGIN_REFUSED', 'Actions come from this page only'));
      if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
        return sendJson(res, 415, refusal('JSON_REQUIRED', 'Send {"service": "…"} as application/json'));
      const body = await readBody(req);
      const service = typeof body?.service === 'string' ? body.service : '';
      if (!options.routing.services.some((s) => s.name === service))
        return sendJson(res, 400, refusal('UNKNOWN_SERVICE', 'No service of that name in the plan'));
      return runAction(res, action, service, req.socket.remoteAddress ?? 'unknown');
    }
    return sendJson(res, 405, refusal('METHOD_NOT_ALLOWED', `${req.method ?? ''} ${path} is not allowed`));
  };

  const runAction = async (res: ServerResponse, action: ServiceActionName, service: string, from: string) => {
    log(`carve serve: action ${action} of service ${service} requested from ${from}`);
    try {
      const result = await actions[action](service, (step, state, text) =>
        broadcast({ type: 'action-progress', at: Date.now(), action, service, step, state, text }),
      );
      log(`carve serve: action ${action} of service ${service} done: ${result.message}`);
      broadcast({
        type: 'action',
        at: Date.now(),
        action,
        service,
        outcome: 'ok',
        code: null,
        message: result.message,
      });
      sendJson(res, 200, mask({ ok: true, action, service, message: result.message }));
    } catch (error) {
      const code = isCarveError(error) ? error.code : 'UNEXPECTED_ERROR';
      const message = error instanceof Error ? error.message : String(error);
      const hint = isCarveError(error) ? (error.hint ?? null) : null;
      log(`carve serve: action ${action} of service ${service} failed: ${code}: ${message}`);
      broadcast({ type: 'action', at: Date.now(), action, service, outcome: 'failed', code, message });
      sendJson(res, actionFailureStatus(error), mask({ ok: false, action, service, code, message, hint }));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(
        `carve serve: ${req.method ?? ''} ${(req.url ?? '').split('?')[0]} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (!res.headersSent)
        sendJson(res, 500, refusal('FAILED', 'The request failed; see the carve serve output'));
      else res.end();
    });
  });
  port = await listen(server, host, options.port, 'dashboard');
  return {
    url: `http://${urlHost(host)}:${port}/`,
    port,
    async close() {
      clearInterval(heartbeat);
      detach?.();
      for (const res of clients) res.end();
      clients.clear();
      await poller.stop();
      await closeServer(server);
    },
  };
}

function refusal(code: string, message: string) {
  return { type: 'error', code, message };
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'www-authenticate': 'Bearer realm="carve"',
  });
  res.end(
    'carve serve needs its token: open /?token=<token> (the token is in the file carve serve named, or $CARVE_SERVE_TOKEN), or send Authorization: Bearer <token>.\n',
  );
}

function sendText(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': `${type}; charset=utf-8` });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
