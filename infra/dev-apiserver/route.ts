// Which resource a Kubernetes API path names: the resource, its namespace, name and subresource.
import { notFoundPath } from './http.ts';
import type { ResourceInfo } from './resources.ts';

export interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** `Strict` refuses unknown fields, `Warn` reports them; otherwise they are dropped silently. */
  fieldValidation?: string;
}

function findResource(inGroup: ResourceInfo[], name: string | undefined): ResourceInfo | undefined {
  for (const r of inGroup) if (r.resource === name) return r;
  return undefined;
}

/** `rest`: the path's segments after the group version; `inGroup`: the resources served there. */
export function parseRoute(rest: string[], inGroup: ResourceInfo[]): Route {
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = findResource(inGroup, rest[2]);
    if (info?.namespaced) return { info, namespace: rest[1], name: rest[3], subresource: rest[4] };
  }
  const info = findResource(inGroup, rest[0]);
  if (!info) throw notFoundPath();
  return { info, name: rest[1], subresource: rest[2] };
}
