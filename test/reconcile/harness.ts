// Reconcilers called directly against real services: the development API server (in-process),
// the run's Redis and OVN NB. `calls` records the Kubernetes reads and writes the reconcilers make
// through the real client, so tests can say which round trips an event costs.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { readConfig } from '../../shared/config.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { type ControllerPorts, createControllerPorts } from '../../shared/ports.ts';
import type { KubePort, ReconcileDeps } from '../../shared/reconcile/ports.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';

export interface ReconcileHarness {
  api: TestApiServer;
  ports: ControllerPorts;
  /** The reconcilers' dependencies, their Kubernetes client recording each call in `calls`. */
  deps: ReconcileDeps;
  calls: string[];
  /** The test's own client, for what a user does (create, edit, delete). */
  admin: Kube;
  /** A Subnet of this harness's own (the run's Redis and NB are shared by test files). */
  subnet: string;
  stop(): Promise<void>;
}

function recording(kube: KubePort, calls: string[]): KubePort {
  return new Proxy(kube, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return value.apply(target, args);
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
  );
  const calls: string[] = [];
  const admin = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  const subnet = `rh-${randomBytes(3).toString('hex')}`;
  await admin.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: subnet },
    spec: { ...cidr, excludeIps: [cidr.gateway], protocol: 'IPv4', namespaces: [] },
  });
  return {
    api,
    ports,
    deps: { ...ports.reconcile, kube: recording(ports.kube, calls) },
    calls,
    admin,
    subnet,
    async stop() {
      admin.close();
      await ports.close();
      await api.stop();
    },
  };
}
