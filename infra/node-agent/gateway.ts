// The subnet gateway the pods' default route points at: a logical router port holding the
// gateway address on each logical switch the node's pods use, as kube-ovn's `ovn-cluster` router
// does. It also carries a switch load balancer's traffic when a client routes the front end
// through the gateway (a switch LB rewrites the destination address, not the MAC).
import { createHash } from 'node:crypto';
import { nbctl } from '../local/services.ts';

export const ROUTER = 'ovn-cluster';

export interface GatewaySpec {
  logicalSwitch: string;
  /** `gateway/prefix` per family, e.g. `10.16.0.1/16`. */
  networks: string[];
}

/** A stable, locally administered unicast MAC per switch. */
export function gatewayMac(logicalSwitch: string): string {
  const h = createHash('sha1').update(logicalSwitch).digest();
  return ['0a', '58', ...[...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export const routerPortName = (ls: string) => `${ROUTER}-${ls}`;
export const switchRouterPortName = (ls: string) => `${ls}-${ROUTER}`;

/** Creates the router and the switch's gateway port unless present. True if it created the port. */
export async function ensureGateway(nbRemote: string, g: GatewaySpec): Promise<boolean> {
  const lrp = routerPortName(g.logicalSwitch);
  const existing = await nbctl(nbRemote, '--if-exists', 'get', 'logical_router_port', lrp, 'name').catch(
    () => '',
  );
  if (existing.trim()) return false;
  const lsp = switchRouterPortName(g.logicalSwitch);
  await nbctl(
    nbRemote,
    '--may-exist',
    'lr-add',
    ROUTER,
    '--',
    '--may-exist',
    'lrp-add',
    ROUTER,
    lrp,
    gatewayMac(g.logicalSwitch),
    ...g.networks,
    '--',
    '--may-exist',
    'lsp-add',
    g.logicalSwitch,
    lsp,
    '--',
    'lsp-set-type',
    lsp,
    'router',
    '--',
    'lsp-set-addresses',
    lsp,
    'router',
    '--',
    'lsp-set-options',
    lsp,
    `router-port=${lrp}`,
  );
  return true;
}

/** Removes a gateway port this agent created, and the router once it has no ports left. */
export async function removeGateway(nbRemote: string, logicalSwitch: string): Promise<void> {
  await nbctl(
    nbRemote,
    '--if-exists',
    'lsp-del',
    switchRouterPortName(logicalSwitch),
    '--',
    '--if-exists',
    'lrp-del',
    routerPortName(logicalSwitch),
  );
  const ports = await nbctl(nbRemote, '--if-exists', 'get', 'logical_router', ROUTER, 'ports').catch(
    () => '',
  );
  if (ports.trim() === '[]') await nbctl(nbRemote, '--if-exists', 'lr-del', ROUTER);
}
