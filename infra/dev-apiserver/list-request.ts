// Which page a list request gets: its resourceVersion and resourceVersionMatch, and the continue
// tokens between pages (the page itself is Store.page, list-page.ts).
import { ApiError, badRequest, expired } from './errors.ts';
import type { ListOptions } from './params.ts';
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';
import type { Store } from './store.ts';

/**
 * One page of a list. A continue token is base64 JSON of the list's resourceVersion and the key to
 * start after, as kube-apiserver's; a token older than the resource's history is 410 Expired.
 * Every page shows the objects as they were at the list's resourceVersion, as etcd serves them
 * (Store.page rebuilds the changed ones from the history), so a list paged while objects change
 * returns each object once, in the state of its first page. An Exact resourceVersion within the
 * history is served the same way; older is 410, as after an etcd compaction.
 */
export function listPage(
  store: Store,
  info: ResourceInfo,
  namespace: string | undefined,
  matcher: (o: KubeObject) => boolean,
  opts: ListOptions,
): { items: KubeObject[]; resourceVersion: string; continue?: string; remaining?: number } {
  const current = Number(store.resourceVersion);
  let listRv = current;
  if (opts.resourceVersion && opts.resourceVersion !== '0') {
    const asked = Number(opts.resourceVersion);
    if (!/^[0-9]+$/.test(opts.resourceVersion))
      throw badRequest(`invalid resource version: ${opts.resourceVersion}`);
    if (asked > current)
      throw new ApiError(504, 'Timeout', `Too large resource version: ${asked}, current: ${current}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      });
    if (opts.resourceVersionMatch === 'Exact') {
      if (asked < store.floor(info)) throw expired(asked, store.floor(info) + 1);
      listRv = asked;
    }
  }
  let after: string | undefined;
  if (opts.continue) {
    let token: { v?: string; rv?: number; start?: string };
    try {
      token = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8'));
    } catch (err) {
      throw badRequest(`continue key is not valid: ${(err as Error).message}`);
    }
    if (
      token.v !== 'meta.k8s.io/v1' ||
      typeof token.rv !== 'number' ||
      !Number.isInteger(token.rv) ||
      token.rv > current ||
      typeof token.start !== 'string'
    )
      throw badRequest(
        'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
      );
    if (token.rv < store.floor(info))
      throw new ApiError(
        410,
        'Expired',
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
      );
    listRv = token.rv;
    after = token.start;
  }
  const limit = Math.max(0, opts.limit ?? 0);
  const page = store.page(info, {
    namespace,
    matcher,
    at: listRv,
    after,
    limit,
    // kube-apiserver counts the rest only when no selector filters the list.
    count: !opts.labelSelector && !opts.fieldSelector,
  });
  if (page.last === undefined) return { items: page.items, resourceVersion: String(listRv) };
  const token = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: listRv, start: page.last })).toString(
    'base64',
  );
  return { items: page.items, resourceVersion: String(listRv), continue: token, remaining: page.remaining };
}
