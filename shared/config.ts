// Configuration from the environment. Entry points pass their runtime's env as a plain object
// (process.env on Node, Deno.env.toObject() on Deno, the bindings on Workers), so this stays pure.
// Secrets come from the environment or from a file named by `<NAME>_FILE` (a mounted Kubernetes
// Secret); never from a command line, where `ps` shows them. Only runtimes with a file system pass
// `readFile`; elsewhere a `_FILE` variable is refused with a clear message.

export type RedisConfig =
  | { readonly kind: 'standalone'; readonly url: string; readonly password?: string | undefined }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly { host: string; port: number }[];
      readonly password?: string | undefined;
    };

/** Files of an HTTPS listener (TLS_CERT_FILE, TLS_KEY_FILE). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Who may call /admission: each configured requirement must be met. */
export interface AdmissionAuth {
  /** CA that signs the API server's client certificate (ADMISSION_CLIENT_CA_FILE); needs HTTPS. */
  readonly clientCaFile?: string | undefined;
  /** Bearer token the API server sends (ADMISSION_TOKEN or ADMISSION_TOKEN_FILE). */
  readonly token?: string | undefined;
}

/** Private key, certificate and CA of an `ssl:` NB connection, as kube-ovn mounts them (/var/run/tls). */
export interface NbSslFiles {
  readonly keyFile: string;
  readonly certFile: string;
  readonly caFile: string;
}

export interface Config {
  readonly redis: RedisConfig;
  /** Bearer token the reservation API requires (API_TOKEN or API_TOKEN_FILE). */
  readonly apiToken?: string | undefined;
  /** Listen port for the HTTP entry points (PORT, default 8080). */
  readonly port: number;
  /** Listen address (HOST, default 127.0.0.1). */
  readonly host: string;
  /** Serve HTTPS with these files instead of HTTP (Node entry). */
  readonly tls?: TlsFiles | undefined;
  readonly admissionAuth: AdmissionAuth;
  /** OVN NB remotes, comma-separated as `ovn-nbctl --db=` takes them (OVN_NB_REMOTES). */
  readonly nbRemotes?: string | undefined;
  /** Key, certificate and CA for `ssl:` NB remotes (OVN_NB_SSL_{KEY,CERT,CA}_FILE). */
  readonly nbSsl?: NbSslFiles | undefined;
  /** kubeconfig path (KUBECONFIG); absent inside a cluster = in-cluster service account. */
  readonly kubeconfig?: string | undefined;
  /** HMAC secret of the relay's signed events (RELAY_SECRET or RELAY_SECRET_FILE). */
  readonly relaySecret?: string | undefined;
  /** Bearer token accepted on /events, for senders that cannot sign, e.g. Knative (EVENTS_TOKEN[_FILE]). */
  readonly eventsToken?: string | undefined;
  /** Body cap of POST /events in bytes (EVENTS_MAX_BYTES; unset = the endpoint's default, 16 MiB). */
  readonly eventsMaxBytes?: number | undefined;
  /** Events per batch on POST /events (EVENTS_MAX_BATCH; unset = 256; the relay sends up to 64). */
  readonly eventsMaxBatch?: number | undefined;
  /** kube-ovn's keep-vm-ip (KEEP_VM_IP, default true). */
  readonly keepVmIp: boolean;
  /**
   * kube-ovn-controller runs beside this system (BESIDE_KUBE_OVN=true): it keeps pod addresses,
   * Vips are served from each Subnet's declared range only (docs/parts/beside-kube-ovn.md).
   */
  readonly besideKubeOvn: boolean;
  /** pino level (LOG_LEVEL, default info). */
  readonly logLevel: string;
  /** This replica's name in log lines (REPLICA_NAME, else HOSTNAME: the pod's name in a cluster). */
  readonly replica?: string | undefined;
  /**
   * Which Kubernetes Events the reconcilers record (KUBE_EVENTS): `all` (default), `warnings`
   * (refusals only: saves one API write per allocation and release), or `none`.
   */
  readonly kubeEvents: 'all' | 'warnings' | 'none';
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigIo {
  /** Reads a secret or certificate file (Node: `(p) => readFileSync(p, 'utf8')`). */
  readonly readFile?: (path: string) => string;
}

/**
 * A secret from `NAME` or from the file `NAME_FILE` names (not both). One trailing newline is
 * dropped: `echo secret > file` and `kubectl create secret --from-file` both leave one.
 */
export function readSecret(env: Env, name: string, io: ConfigIo = {}): string | undefined {
  const value = env[name];
  const file = env[`${name}_FILE`]?.trim();
  if (value && file) throw new Error(`set ${name} or ${name}_FILE, not both`);
  if (!file) return value || undefined;
  if (!io.readFile)
    throw new Error(`${name}_FILE needs a file system, which this runtime lacks: set ${name}`);
  let text: string;
  try {
    text = io.readFile(file);
  } catch (err) {
    throw new Error(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  text = text.replace(/\r?\n$/, '');
  if (!text) throw new Error(`${name}_FILE: ${file} is empty`);
  return text;
}

/** Several path variables that make sense only together: all of them, or none. */
function allOrNone<K extends string>(env: Env, vars: Record<K, string>): Record<K, string> | undefined {
  const entries = Object.entries(vars) as [K, string][];
  const set = entries.filter(([, v]) => env[v]?.trim());
  if (set.length === 0) return undefined;
  if (set.length < entries.length) {
    const missing = entries.filter(([, v]) => !env[v]?.trim()).map(([, v]) => v);
    throw new Error(`${set.map(([, v]) => v).join(', ')} also need ${missing.join(', ')}`);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, env[v]!.trim()])) as Record<K, string>;
}

export function readConfig(env: Env, io: ConfigIo = {}): Config {
  const password = readSecret(env, 'REDIS_PASSWORD', io);
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  const redis: RedisConfig = nodes
    ? {
        kind: 'cluster',
        nodes: nodes.split(',').map((hp) => {
          const [host, port] = hp.trim().split(':');
          if (!host || !port || !/^\d+$/.test(port)) {
            throw new Error(`REDIS_CLUSTER_NODES item "${hp}" must be host:port`);
          }
          return { host, port: Number(port) };
        }),
        password,
      }
    : { kind: 'standalone', url: env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379', password };
  const port = Number(env.PORT ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT "${env.PORT}" is not a port number`);
  const tls = allOrNone(env, { certFile: 'TLS_CERT_FILE', keyFile: 'TLS_KEY_FILE' });
  const admissionAuth: AdmissionAuth = {
    clientCaFile: env.ADMISSION_CLIENT_CA_FILE?.trim() || undefined,
    token: readSecret(env, 'ADMISSION_TOKEN', io),
  };
  // A client certificate is part of the TLS handshake: plain HTTP cannot ask for one.
  if (admissionAuth.clientCaFile && !tls)
    throw new Error('ADMISSION_CLIENT_CA_FILE needs HTTPS: set TLS_CERT_FILE and TLS_KEY_FILE');
  const nbRemotes = env.OVN_NB_REMOTES?.trim() || undefined;
  const nbSsl = allOrNone(env, {
    keyFile: 'OVN_NB_SSL_KEY_FILE',
    certFile: 'OVN_NB_SSL_CERT_FILE',
    caFile: 'OVN_NB_SSL_CA_FILE',
  });
  if (nbRemotes && !nbSsl && /(^|,)\s*ssl:/.test(nbRemotes))
    throw new Error(
      'an ssl: remote in OVN_NB_REMOTES needs OVN_NB_SSL_KEY_FILE, OVN_NB_SSL_CERT_FILE and OVN_NB_SSL_CA_FILE ' +
        "(kube-ovn's are /var/run/tls/key, /var/run/tls/cert and /var/run/tls/cacert)",
    );
  return {
    redis,
    apiToken: readSecret(env, 'API_TOKEN', io),
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    tls,
    admissionAuth,
    nbRemotes,
    nbSsl,
    kubeconfig: env.KUBECONFIG?.trim() || undefined,
    relaySecret: readSecret(env, 'RELAY_SECRET', io),
    eventsToken: readSecret(env, 'EVENTS_TOKEN', io),
    eventsMaxBytes: positiveInt(env, 'EVENTS_MAX_BYTES'),
    eventsMaxBatch: positiveInt(env, 'EVENTS_MAX_BATCH'),
    keepVmIp: (env.KEEP_VM_IP ?? 'true').toLowerCase() !== 'false',
    besideKubeOvn: ['true', '1', 'yes'].includes((env.BESIDE_KUBE_OVN ?? '').trim().toLowerCase()),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    replica: env.REPLICA_NAME?.trim() || env.HOSTNAME?.trim() || undefined,
    kubeEvents: kubeEventsOf(env.KUBE_EVENTS),
  };
}

function kubeEventsOf(text: string | undefined): Config['kubeEvents'] {
  const v = (text?.trim() || 'all').toLowerCase();
  if (v === 'all' || v === 'warnings' || v === 'none') return v;
  throw new Error(`KUBE_EVENTS "${text}" must be all, warnings or none`);
}

/** A whole number >= 1 in decimal digits, or undefined when the variable is unset or empty. */
function positiveInt(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new Error(`${name} "${env[name]}" must be a whole number of at least 1`);
  }
  return Number(raw);
}
