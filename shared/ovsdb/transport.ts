// Opens the byte stream behind a remote string, as ovsdb-server and ovn-nbctl spell them:
// `tcp:HOST:PORT`, `ssl:HOST:PORT` (IPv6 hosts in brackets) and `unix:/path`.
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

export type Remote =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssl'; host: string; port: number }
  | { kind: 'unix'; path: string };

export function parseRemote(remote: string): Remote {
  const colon = remote.indexOf(':');
  const kind = remote.slice(0, colon);
  const rest = remote.slice(colon + 1);
  if (kind === 'unix' && rest) return { kind, path: rest };
  if (kind === 'tcp' || kind === 'ssl') {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(rest);
    if (m) return { kind, host: (m[1] ?? m[2])!, port: Number(m[3]) };
  }
  throw new TypeError(`bad OVSDB remote "${remote}": expected tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH`);
}

/** Splits a comma-separated list of remotes, as `ovn-nbctl --db=` and OVN's env variables take it. */
export const parseRemotes = (list: string): string[] =>
  list
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

export interface SslFiles {
  /** PEM private key of this client (ovn-nbctl's `--private-key`). */
  readonly keyFile: string;
  /** PEM certificate of this client, signed by a CA the server trusts (`--certificate`). */
  readonly certFile: string;
  /** PEM CA the server's certificate must chain to (`--ca-cert`). */
  readonly caFile: string;
}

/**
 * TLS options for `ssl:` remotes from PEM files, checked the way ovsdb-server and ovn-nbctl check a
 * peer: the certificate must chain to the given CA (only that CA: the system's are not trusted),
 * and its name is not compared with the host. ovs-pki and kube-ovn issue NB certificates without a
 * subject alternative name for the address a client dials, so a hostname check would refuse every
 * such cluster; trust comes from the private CA. `serverName` turns the hostname check back on.
 */
export function sslFileOptions(files: SslFiles, opts: { serverName?: string } = {}): ConnectionOptions {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the OVSDB SSL ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    key: read('private key', files.keyFile),
    cert: read('certificate', files.certFile),
    ca: read('CA certificate', files.caFile),
    rejectUnauthorized: true,
    ...(opts.serverName ? { servername: opts.serverName } : { checkServerIdentity: () => undefined }),
  };
}

/** Resolves with a connected socket, or rejects after `timeoutMs`. */
export function openStream(remote: string, timeoutMs: number, tls: ConnectionOptions = {}): Promise<Socket> {
  const r = parseRemote(remote);
  return new Promise((resolve, reject) => {
    let socket: Socket;
    const ready = r.kind === 'ssl' ? 'secureConnect' : 'connect';
    if (r.kind === 'unix') socket = netConnect({ path: r.path });
    else if (r.kind === 'tcp') socket = netConnect({ host: r.host, port: r.port });
    else socket = tlsConnect({ ...tls, host: r.host, port: r.port, servername: tls.servername ?? undefined });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${remote} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
