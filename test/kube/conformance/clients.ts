// The three real clients of the conformance suite as the behaviours use them: kubectl 1.32 as a
// child process, @kubernetes/client-node in-process (its generated APIs, its Watch, and its own
// auth for the few requests it has no method for), and the Python client through its script.
import { request } from 'node:https';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Watch,
} from '@kubernetes/client-node';
import { type KubectlResult, runKubectl, spawnKubectl } from '../../../infra/dev-apiserver/kubectl.ts';

export function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

export class KubectlClient {
  constructor(
    readonly kubeconfig: string,
    readonly kubectl: string,
    readonly ns: string,
  ) {}
  run(args: string[], input?: string): Promise<KubectlResult> {
    return runKubectl(this.kubeconfig, args, { kubectl: this.kubectl, input, timeoutMs: 15_000 });
  }
  async ok(...args: string[]): Promise<string> {
    const r = await this.run(args);
    check(r.code === 0, `kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }
  async okIn(input: string, ...args: string[]): Promise<string> {
    const r = await this.run(args, input);
    check(r.code === 0, `kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }
  /** The command must fail with stderr matching `re`. */
  async fails(re: RegExp, args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    check(r.code !== 0, `kubectl ${args.join(' ')} succeeded, expected ${re}`);
    check(re.test(r.stderr), `kubectl ${args.join(' ')}: ${r.stderr.trim()} does not match ${re}`);
    return r.stderr;
  }
  /**
   * Runs `kubectl get -w ...`: once it printed its first line (the watch is then open), `then`
   * runs; resolves when `until` matches the output (bounded), and stops the child it started.
   */
  watchUntil(
    args: string[],
    then: () => Promise<unknown>,
    until: RegExp,
    timeoutMs = 8_000,
  ): Promise<string> {
    const child = spawnKubectl(this.kubeconfig, args, this.kubectl);
    let out = '';
    let started = false;
    return new Promise((resolve, reject) => {
      const finish = (err?: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        if (err) reject(err);
        else resolve(out);
      };
      const timer = setTimeout(
        () => finish(new Error(`kubectl ${args.join(' ')}: no ${until} in ${JSON.stringify(out)}`)),
        timeoutMs,
      );
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (!started && out.includes('\n')) {
          started = true;
          then().catch(finish);
        }
        if (until.test(out)) finish();
      });
    });
  }
}

export interface RawReply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: wire JSON of many shapes, read only in checks
  json: any;
}

export class NodeClient {
  readonly kc = new KubeConfig();
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly events: EventsV1Api;
  readonly custom: CustomObjectsApi;
  readonly objects: KubernetesObjectApi;
  readonly watch: Watch;
  constructor(
    kubeconfig: string,
    readonly ns: string,
  ) {
    this.kc.loadFromFile(kubeconfig);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.coordination = this.kc.makeApiClient(CoordinationV1Api);
    this.events = this.kc.makeApiClient(EventsV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(this.kc);
    this.watch = new Watch(this.kc);
  }

  /** The status code of a failed call (client-node throws ApiException with `code`). */
  async code(call: Promise<unknown>): Promise<number> {
    try {
      await call;
      return 200;
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (typeof code !== 'number') throw err;
      return code;
    }
  }

  /** A request client-node has no method for, authenticated by client-node's own KubeConfig. */
  async raw(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<RawReply> {
    const cluster = this.kc.getCurrentCluster();
    check(cluster, 'no current cluster');
    const url = new URL(path, cluster.server);
    const opts: Parameters<typeof request>[1] = { method, headers: { ...headers } };
    await this.kc.applyToHTTPSOptions(opts);
    return new Promise((resolve, reject) => {
      const req = request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      if (body !== undefined) req.setHeader('content-length', Buffer.byteLength(body));
      req.end(body);
    });
  }
}
