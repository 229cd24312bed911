// Discovery documents: /version, /api, /apis, /apis/<group> and the resource lists of a group
// version, built from what the store serves (built-ins plus established CRDs).
import type { ResourceInfo } from './resources.ts';

export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-vipres-dev',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiGroups(resources: ResourceInfo[]) {
  const byName = new Map<string, Set<string>>();
  for (const r of resources) {
    if (!r.group) continue;
    byName.set(r.group, (byName.get(r.group) ?? new Set()).add(r.version));
  }
  return [...byName].map(([name, versions]) => {
    const vs = [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions: vs, preferredVersion: vs[0] };
  });
}

export function resourceList(group: string, version: string, infos: ResourceInfo[]) {
  const resources = infos.flatMap((r) => {
    const main = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      shortNames: r.shortNames,
      categories: r.categories,
    };
    const status = {
      name: `${r.resource}/status`,
      singularName: '',
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['get', 'patch', 'update'],
    };
    const scale = {
      name: `${r.resource}/scale`,
      singularName: '',
      namespaced: r.namespaced,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    };
    const isSts = r.group === 'apps' && r.resource === 'statefulsets';
    return [main, ...(r.hasStatus ? [status] : []), ...(isSts ? [scale] : [])];
  });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
