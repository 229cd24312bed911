// The chaos test's workload: a fixed, seeded plan of Vip and pod creates and deletes, spread over
// a few tens of seconds, run through the Kubernetes API at a modest rate; and a watcher that
// records the address each Vip first showed when it first became Ready.
import { seededRandom } from '../../infra/local/chaos-proxy.ts';
import type { Vip } from '../../shared/domain/types.ts';
import type { Kube, KubeObject } from '../../shared/kube/index.ts';
import { podObject, vipObject } from '../e2e/harness.ts';

export type Step =
  | { at: number; op: 'create'; obj: KubeObject }
  | { at: number; op: 'delete'; kind: 'Vip' | 'Pod'; name: string; namespace?: string };

export interface PlanOptions {
  vips: number;
  pods: number;
  /** How long the creates are spread over (ms). */
  spreadMs: number;
  seed: number;
}

const GROUPS = 8;

/**
 * A third of the Vips are dynamic, a third fixed (10.16.100.x), a third AAP Vips whose parents are
 * pods of one label group. Every pod asks for the AAP Vips of its group. About a quarter of the
 * Vips and a third of the pods are deleted again a few seconds after their creation.
 */
export function makePlan(o: PlanOptions): Step[] {
  const random = seededRandom(o.seed);
  const steps: Step[] = [];
  const aapOfGroup = new Map<number, string[]>();
  for (let i = 0; i < o.vips; i++) {
    const name = `chaos-v${i}`;
    const at = Math.round((i / o.vips) * o.spreadMs);
    let spec: Record<string, unknown>;
    if (i % 3 === 0) spec = { subnet: 'ovn-default', type: '' };
    else if (i % 3 === 1) spec = { subnet: 'ovn-default', v4ip: `10.16.100.${10 + i}` };
    else {
      const g = i % GROUPS;
      aapOfGroup.set(g, [...(aapOfGroup.get(g) ?? []), name]);
      spec = { subnet: 'ovn-default', namespace: 'default', selector: [`grp: g${g}`] };
    }
    steps.push({ at, op: 'create', obj: vipObject(name, spec) });
    if (random() < 0.25) steps.push({ at: at + 1_000 + random() * 4_000, op: 'delete', kind: 'Vip', name });
  }
  for (let j = 0; j < o.pods; j++) {
    const name = `chaos-p${j}`;
    const g = j % GROUPS;
    const at = Math.round(((j + 0.5) / o.pods) * o.spreadMs);
    const asks = (aapOfGroup.get(g) ?? []).join(',');
    steps.push({
      at,
      op: 'create',
      obj: podObject('default', name, {
        labels: { grp: `g${g}` },
        ...(asks ? { annotations: { 'ovn.kubernetes.io/aaps': asks } } : {}),
      }),
    });
    if (random() < 0.33)
      steps.push({
        at: at + 1_000 + random() * 4_000,
        op: 'delete',
        kind: 'Pod',
        name,
        namespace: 'default',
      });
  }
  return steps.sort((a, b) => a.at - b.at);
}

export interface WorkloadRun {
  done: Promise<void>;
  /** Steps that failed at the API (they are retried a few times first). */
  failures: string[];
}

/** Runs the plan in time order; each step is retried a few times (the API server is never a fault). */
export function runPlan(kube: Kube, steps: Step[], start = Date.now()): WorkloadRun {
  const failures: string[] = [];
  const inFlight: Promise<void>[] = [];
  const runStep = async (s: Step) => {
    for (let attempt = 0; ; attempt++) {
      try {
        if (s.op === 'create') await kube.create(s.obj.kind as Parameters<Kube['create']>[0], s.obj);
        else await kube.delete(s.kind, { name: s.name, ...(s.namespace ? { namespace: s.namespace } : {}) });
        return;
      } catch (err) {
        if (attempt >= 3) {
          failures.push(`${s.op} ${s.op === 'create' ? s.obj.metadata.name : s.name}: ${err}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const done = (async () => {
    for (const s of steps) {
      const wait = start + s.at - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(runStep(s));
    }
    await Promise.all(inFlight);
  })();
  return { done, failures };
}

export interface FirstAddresses {
  /** uid -> the v4ip the Vip showed the first time it was seen Ready. */
  readonly first: Map<string, { name: string; v4ip: string }>;
  /** Vips seen Ready with an address other than their first one (name: first -> later). */
  readonly changes: string[];
  stop(): Promise<void>;
}

/** Polls the Vips and records each one's first Ready address, and any later change of it. */
export function watchFirstAddresses(kube: Kube, intervalMs = 200): FirstAddresses {
  const first = new Map<string, { name: string; v4ip: string }>();
  const changes: string[] = [];
  let running = true;
  const observe = (v: Vip) => {
    const uid = v.metadata.uid;
    const ip = v.status?.v4ip;
    if (!uid || !ip || v.status?.ready !== true) return;
    const seen = first.get(uid);
    if (!seen) first.set(uid, { name: v.metadata.name, v4ip: ip });
    else if (seen.v4ip !== ip) changes.push(`${v.metadata.name}: ${seen.v4ip} -> ${ip}`);
  };
  const loop = (async () => {
    while (running) {
      try {
        for (const v of await kube.listVips()) observe(v);
      } catch {}
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    first,
    changes,
    async stop() {
      running = false;
      await loop;
    },
  };
}
