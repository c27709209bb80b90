import type { Server } from 'node:http';
import { CarveError } from '../errors.js';

/** Loopback unless told otherwise: carve's pages and metrics are not for the network by default. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * Start listening; resolve with the port (the one the OS picked for port 0). A port in use, or a
 * host this machine does not have, is OBSERVE_LISTEN_FAILED naming both.
 */
export function listen(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        new CarveError(
          'OBSERVE_LISTEN_FAILED',
          `The ${what} cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
          {
            details: { host, port, errno: error.code ?? null },
            hint:
              error.code === 'EADDRINUSE'
                ? `Another process uses port ${port}: pick a free one (or 0 for any).`
                : 'Pick a host address of this machine (127.0.0.1 by default) and a port you may open.',
            cause: error,
          },
        ),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Close a server, ending its open connections (an event stream never ends by itself). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A host for a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
