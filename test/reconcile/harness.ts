// Reconcilers called directly against real services: the development API server (in-process),
// the run's Redis and OVN NB. `calls` records the Kubernetes reads and writes the reconcilers make
// through the real client, `nbCalls` the NorthboundPort calls and `transactions` every OVSDB
// transaction sent on the reconcilers' own NB connection, so tests can say which round trips an
// event costs.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type ControllerPorts, createControllerPorts } from '../../infra/wiring/controller.ts';
import { northboundPort } from '../../infra/wiring/northbound-port.ts';
import { readConfig } from '../../shared/config.ts';
import type { Pod, Vip } from '../../shared/domain/types.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { connectNorthbound, type NorthboundWriter } from '../../shared/ovn/nb/index.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';

export interface ReconcileHarness {
  api: TestApiServer;
  ports: ControllerPorts;
  /**
   * The reconcilers' dependencies, their Kubernetes client recording each call in `calls` (an
   * `ensureClaimed` that had nothing to write, so sent nothing, as `ensureClaimed:no-op`).
   */
  deps: ReconcileDeps;
  calls: string[];
  /** NorthboundPort calls of the reconcilers, by method name. */
  nbCalls: string[];
  /** OVSDB transactions of the reconcilers, as their operations joined by '+' (`select`, `wait+update`). */
  transactions: string[];
  /** Redis allocator calls of the reconcilers, by method name. */
  redisCalls: string[];
  /** Awaited before each of the reconcilers' OVSDB transactions is sent, when set (to hold one). */
  beforeTransact?: (ops: readonly { op: string }[]) => Promise<unknown> | undefined;
  /** Awaited before each of the reconcilers' NorthboundPort calls starts, when set (to hold one). */
  beforeNbCall?: (method: string) => Promise<unknown> | undefined;
  /** Awaited before each of the reconcilers' Kubernetes calls starts, when set (to hold one). */
  beforeKubeCall?: (method: string) => Promise<unknown> | undefined;
  /** AAP parent index calls of the reconcilers, by method name. */
  aapIndexCalls: string[];
  /** Awaited before each of the reconcilers' AAP index calls starts, when set (to hold one). */
  beforeIndexCall?: (method: string) => Promise<unknown> | undefined;
  /** For a test's own reads of NB rows (its transactions are counted in `transactions` too). */
  nbWriter: NorthboundWriter;
  /** The test's own client, for what a user does (create, edit, delete). */
  admin: Kube;
  /** A Subnet of this harness's own (the run's Redis and NB are shared by test files). */
  subnet: string;
  stop(): Promise<void>;
}

function recording<T extends object>(
  port: T,
  calls: string[],
  hold?: (method: string) => Promise<unknown> | undefined,
): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const at = calls.push(String(prop)) - 1;
        const waiting = hold?.(String(prop));
        const result = waiting ? waiting.then(() => value.apply(target, args)) : value.apply(target, args);
        // ensureClaimed decides locally first: one that finds nothing to write sends nothing.
        if (prop === 'ensureClaimed' && result instanceof Promise)
          void result.then(
            (r) => {
              if (r === undefined) calls[at] = 'ensureClaimed:no-op';
            },
            () => {},
          );
        return result;
      };
    },
  });
}

export async function startReconcileHarness(cidr: {
  cidrBlock: string;
  gateway: string;
}): Promise<ReconcileHarness> {
  const api = await startTestApiServer(randomBytes(8).toString('hex'));
  const ports = await createControllerPorts(
    readConfig({
      REDIS_URL: inject('redisUrl'),
      OVN_NB_REMOTES: inject('nbRemote'),
      KUBECONFIG: api.server.kubeconfigPath,
    }),
    // Test files share the run's Redis, each with its own API server: their AAP indexes apart.
    { aapIndexScope: `rh-${randomBytes(4).toString('hex')}` },
  );
  const calls: string[] = [];
  const nbCalls: string[] = [];
  const transactions: string[] = [];
  const redisCalls: string[] = [];
  const aapIndexCalls: string[] = [];
  // The reconcilers' own NB connection (with its port cache), so its transactions can be counted.
  const northbound = await connectNorthbound({ remotes: inject('nbRemote') });
  const transact = northbound.client.transact.bind(northbound.client);
  northbound.client.transact = async (ops, opts) => {
    transactions.push(ops.map((o) => o.op).join('+'));
    await harness.beforeTransact?.(ops);
    return transact(ops, opts);
  };
  const admin = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  const subnet = `rh-${randomBytes(3).toString('hex')}`;
  await admin.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: subnet },
    spec: { ...cidr, excludeIps: [cidr.gateway], protocol: 'IPv4', namespaces: [] },
  });
  const harness: ReconcileHarness = {
    api,
    ports,
    deps: {
      ...ports.reconcile,
      allocator: recording(ports.reconcile.allocator, redisCalls),
      kube: recording(ports.kube, calls, (m) => harness.beforeKubeCall?.(m)),
      nb: recording(northboundPort(northbound.writer, northbound.cache), nbCalls, (m) =>
        harness.beforeNbCall?.(m),
      ),
      aapIndex: recording(ports.aapIndex, aapIndexCalls, (m) => harness.beforeIndexCall?.(m)),
    },
    aapIndexCalls,
    calls,
    nbCalls,
    transactions,
    redisCalls,
    nbWriter: northbound.writer,
    admin,
    subnet,
    async stop() {
      admin.close();
      await northbound.close();
      await ports.close();
      await api.stop();
    },
  };
  return harness;
}

/** A Resource-mode event carrying the object, as the relay sends it. */
export const eventOf = (o: Vip | Pod, action: 'add' | 'update'): ResourceEvent => ({
  action,
  mode: 'resource',
  ref: {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  },
  object: o,
  id: `test-${o.metadata.resourceVersion}`,
  time: '',
  source: 'test',
});
