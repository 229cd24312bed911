// What the relay would still deliver after a handler ran: the real relay's list-watch (its cache
// drops status-only updates) over the development API server, minus the echoes the handler named
// in `produced` (the rule of infra/relay/echo-memory.ts). Lets a test run an event and then the
// events it causes, as they would reach a handler in a deployed system.
import { randomBytes } from 'node:crypto';
import type { ChangeEvent } from '../../infra/relay/cache.ts';
import { kubeTransport } from '../../infra/relay/kube-transport.ts';
import { ListWatch } from '../../infra/relay/list-watch.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';
import type { Outcome } from '../../shared/events/outcome.ts';
import { objectKey } from '../../shared/events/subject.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { type Kube, loadKubeConfig } from '../../shared/kube/index.ts';

// Marker pods carry no labels, so no selector picks them up.
const MARKER_NAMESPACE = 'default';

export interface RelayView {
  /**
   * Waits until the watches have seen every write made so far, then returns the events the relay
   * would deliver that were not yet taken (echoes of `produced` and the tests' own marker objects
   * left out), oldest first.
   */
  pending(): Promise<ResourceEvent[]>;
  /**
   * Records that `event` was handled with `outcome`: the event itself is not pending any more, and
   * the echoes of what it `produced` are dropped.
   */
  handled(event: ResourceEvent, outcome: Outcome): void;
  stop(): Promise<void>;
}

export async function startRelayView(kubeconfigPath: string, admin: Kube): Promise<RelayView> {
  const transport = kubeTransport(loadKubeConfig({ kubeconfigPath }));
  const events: ChangeEvent[] = [];
  const produced = new Map<string, Set<string>>();
  const watches = ['Vip', 'Pod'].map((kind) => {
    const resource = DEFAULT_RESOURCES.find((r) => r.kind === kind)!;
    return new ListWatch({ transport, resource, onEvents: (evs) => events.push(...evs) });
  });
  for (const w of watches) w.start();
  await Promise.all(watches.map((w) => w.synced));
  events.length = 0; // what existed before is not this view's business

  return {
    async pending() {
      // Watch events of one type arrive in order: once a marker written now is seen, so is
      // everything written before it.
      const marker = `marker-${randomBytes(4).toString('hex')}`;
      await admin.create('Vip', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name: marker },
        spec: { subnet: 'none' },
      });
      await admin.create('Pod', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: marker, namespace: MARKER_NAMESPACE },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      const deadline = Date.now() + 10_000;
      while (events.filter((e) => e.object.metadata.name === marker).length < 2) {
        if (Date.now() > deadline) throw new Error('watch did not catch up within 10 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      const taken = events.splice(0);
      return taken
        .filter((e) => !e.object.metadata.name.startsWith('marker-'))
        .filter((e) => {
          const rv = e.object.metadata.resourceVersion;
          return e.action === 'delete' || !rv || !produced.get(e.key)?.has(rv);
        })
        .map((e) => toResourceEvent(e));
    },
    handled(event, outcome) {
      const key = objectKey(event.ref);
      const set = produced.get(key) ?? new Set<string>();
      produced.set(key, set);
      const own = (event.object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
        ?.resourceVersion;
      if (own) set.add(own);
      if (outcome.status === 'done') for (const rv of outcome.produced ?? []) set.add(rv);
    },
    async stop() {
      await Promise.all(watches.map((w) => w.stop()));
    },
  };
}

function toResourceEvent(e: ChangeEvent): ResourceEvent {
  const o = e.object;
  return {
    action: e.action,
    mode: 'resource',
    ref: {
      apiVersion: o.apiVersion ?? 'v1',
      kind: o.kind ?? '',
      name: o.metadata.name,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    },
    object: o as never,
    id: `relay-view-${o.metadata.resourceVersion}`,
    time: '',
    source: 'relay-view',
  };
}
