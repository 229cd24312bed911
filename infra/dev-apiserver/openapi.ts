// Just enough OpenAPI v3 for kubectl: the root lists one document per group-version, and each
// document declares a PATCH operation per kind with the `fieldValidation` query parameter, which is
// how kubectl apply learns that the server validates fields itself (otherwise it wants a full
// OpenAPI v2 schema). Schemas of custom resources are included so `kubectl explain` has something.
import { createHash } from 'node:crypto';
import { groupVersion, type ResourceInfo } from './resources.ts';

const gvPath = (r: ResourceInfo) => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`);

export function openApiRoot(resources: ResourceInfo[]) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const r of resources) {
    const p = gvPath(r);
    const hash = createHash('sha256')
      .update(JSON.stringify(openApiDocument(resources, p)))
      .digest('hex')
      .slice(0, 16);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

/** The document of one group-version path (`apis/kubeovn.io/v1`, `api/v1`), or undefined. */
export function openApiDocument(resources: ResourceInfo[], path: string) {
  const inGv = resources.filter((r) => gvPath(r) === path);
  if (inGv.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of inGv) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = r.namespaced
      ? `/${path}/namespaces/{namespace}/${r.resource}/{name}`
      : `/${path}/${r.resource}/{name}`;
    const op = (id: string) => ({
      operationId: `${id}${r.kind}`,
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': gvk,
      parameters: [
        { name: 'dryRun', in: 'query', schema: { type: 'string' } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
        { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
        { name: 'force', in: 'query', schema: { type: 'boolean' } },
      ],
      responses: { '200': { description: 'OK' } },
    });
    paths[base] = { patch: op('patch') };
    if (r.hasStatus) paths[`${base}/status`] = { patch: op('patchStatus') };
    const schemaName = `${(r.group || 'core').split('.').reverse().join('.')}.${r.version}.${r.kind}`;
    schemas[schemaName] = {
      ...(r.schema && typeof r.schema === 'object'
        ? r.schema
        : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
      'x-kubernetes-group-version-kind': [gvk],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'vipres development API server', version: groupVersion(inGv[0] as ResourceInfo) },
    paths,
    components: { schemas },
  };
}
