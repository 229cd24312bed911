// Where `kubectl ko` finds OVN. The local stack names its NB and SB in the kubeconfig's cluster
// (extension `ovn.vipres.dev`, written by infra/local); a `.local/stack.json` whose API server is the
// current cluster's names them too. Any other cluster is a real kube-ovn one: the commands run in
// its ovn-central pod, as kube-ovn's own plugin does. Pure: the caller reads the files.
import { parse as parseYaml } from 'yaml';
import { OVN_EXTENSION } from '../dev-apiserver/index.ts';

export type OvnLocation =
  | { kind: 'local'; nb: string; sb: string | undefined; source: string }
  | { kind: 'cluster'; server: string | undefined };

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string } }[];
  clusters?: {
    name: string;
    cluster?: { server?: string; extensions?: { name: string; extension?: Record<string, unknown> }[] };
  }[];
}

const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The current context's cluster across kubeconfig files (kubectl's merge: the first one wins). */
export function currentCluster(files: { path: string; text: string }[]) {
  const docs = files.map((f) => ({ path: f.path, doc: (parseYaml(f.text) ?? {}) as KubeconfigDoc }));
  const contextName = docs.map((d) => str(d.doc['current-context'])).find(Boolean);
  if (!contextName) return undefined;
  const clusterName = docs.flatMap((d) => d.doc.contexts ?? []).find((c) => c.name === contextName)
    ?.context?.cluster;
  for (const d of docs) {
    const c = (d.doc.clusters ?? []).find((x) => x.name === clusterName);
    if (c) return { path: d.path, server: str(c.cluster?.server), extensions: c.cluster?.extensions ?? [] };
  }
  return undefined;
}

export function locateOvn(
  files: { path: string; text: string }[],
  stack: { file: string; json: Record<string, unknown> } | undefined,
): OvnLocation {
  const cluster = currentCluster(files);
  const ext = cluster?.extensions.find((e) => e.name === OVN_EXTENSION)?.extension;
  if (ext && str(ext.nb))
    return {
      kind: 'local',
      nb: str(ext.nb)!,
      sb: str(ext.sb),
      source: `${cluster!.path} (${OVN_EXTENSION})`,
    };
  // With no kubeconfig at all, the stack file alone decides (what `npm start` wrote).
  const stackServer = str(stack?.json.apiServer);
  if (stack && str(stack.json.nbRemote) && (!cluster || cluster.server === stackServer)) {
    const node = (stack.json.node ?? {}) as Record<string, unknown>;
    return { kind: 'local', nb: str(stack.json.nbRemote)!, sb: str(node.sbRemote), source: stack.file };
  }
  return { kind: 'cluster', server: cluster?.server };
}
