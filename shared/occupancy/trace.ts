// `kubectl vip trace <vip>`: what OVN holds for a Vip, as lines for people. Pure: the caller reads
// the Vip, its virtual ports and the load balancers from NB, and Port_Bindings from SB when it can.
import type { Vip } from '../domain/types.ts';
import type { LoadBalancer, LogicalSwitchPort } from '../ovn/nb/model.ts';
import { isAapVip, vipSubnet } from './vips.ts';

export interface PortBindingView {
  readonly logicalPort: string;
  readonly type: string;
  readonly chassis: string;
  readonly virtualParent: string;
  readonly up?: boolean;
}

export interface TraceInput {
  readonly vip: Vip;
  /** The Vip's port names (`<vip>`, `<vip>_v6`) with the NB row, if any, and its switch. */
  readonly ports: readonly { name: string; row?: LogicalSwitchPort; switchName?: string }[];
  readonly loadBalancers: readonly LoadBalancer[];
  /** Port_Binding per port name; a string says why SB was not read. */
  readonly bindings: Readonly<Record<string, PortBindingView | undefined>> | string;
}

/** The Vip's own addresses (v4, v6). */
export const vipAddresses = (v: Vip): string[] =>
  [v.status?.v4ip, v.status?.v6ip, v.spec.v4ip, v.spec.v6ip]
    .flatMap((s) => (s ?? '').split(','))
    .map((s) => s.trim())
    .filter((s, i, all) => s !== '' && all.indexOf(s) === i);

/** Load balancers with a front end or a back end on one of the addresses. */
export function loadBalancersOf(addresses: readonly string[], lbs: readonly LoadBalancer[]): LoadBalancer[] {
  const hostOf = (endpoint: string) =>
    endpoint.replace(/^\[(.*)\]:\d+$/, '$1').replace(/^([^:]*):\d+$/, '$1');
  const on = (endpoints: string) => endpoints.split(',').some((e) => addresses.includes(hostOf(e.trim())));
  return lbs.filter((lb) => Object.entries(lb.vips).some(([front, backs]) => on(front) || on(backs)));
}

const kv = (r: Record<string, string>) =>
  Object.keys(r)
    .sort()
    .map((k) => `${k}=${r[k]}`)
    .join(' ');

export function traceLines(t: TraceInput): string[] {
  const v = t.vip;
  const usage =
    v.spec.type === 'switch_lb_vip' ? 'switch_lb_vip' : isAapVip(v) ? 'allowed-address-pair' : 'reservation';
  const out = [
    `Vip ${v.metadata.name}  subnet ${vipSubnet(v) || '(none)'}  use ${usage}  addresses ${vipAddresses(v).join(',') || '(none yet)'}  mac ${v.status?.mac || '(none yet)'}  ready ${v.status?.ready === true}`,
  ];
  if (isAapVip(v))
    out.push(`  status.holder ${v.status?.holder || '(none: no parent has claimed the address)'}`);

  out.push('OVN Northbound');
  const found = t.ports.filter((p) => p.row);
  if (found.length === 0) {
    out.push(
      isAapVip(v)
        ? '  Logical_Switch_Port: none (an AAP Vip gets one virtual port per family once reconciled)'
        : '  Logical_Switch_Port: none (only AAP Vips have a virtual port)',
    );
  }
  for (const p of found) {
    const row = p.row!;
    out.push(
      `  Logical_Switch_Port ${row.name}  switch ${p.switchName ?? '(in no switch)'}  type ${row.type || '(plain)'}  uuid ${row.uuid}`,
    );
    if (Object.keys(row.options).length > 0) out.push(`    options ${kv(row.options)}`);
    if (row.addresses.length > 0) out.push(`    addresses ${row.addresses.join(' | ')}`);
    if (Object.keys(row.externalIds).length > 0) out.push(`    external_ids ${kv(row.externalIds)}`);
  }
  const lbs = loadBalancersOf(vipAddresses(v), t.loadBalancers);
  if (lbs.length === 0) out.push('  Load_Balancer: none with this address');
  for (const lb of lbs) {
    out.push(`  Load_Balancer ${lb.name}  protocol ${lb.protocol ?? 'tcp'}  uuid ${lb.uuid}`);
    for (const [front, backs] of Object.entries(lb.vips))
      out.push(`    ${front} -> ${backs || '(no back ends)'}`);
  }

  out.push('OVN Southbound');
  if (typeof t.bindings === 'string') {
    out.push(`  ${t.bindings}`);
    return out;
  }
  if (found.length === 0) out.push('  Port_Binding: none (no logical port)');
  for (const p of found) {
    const b = t.bindings[p.name];
    out.push(
      b
        ? `  Port_Binding ${b.logicalPort}  type ${b.type || '(plain)'}  chassis ${b.chassis || '(none)'}  virtual_parent ${b.virtualParent || '(none)'}${b.up === undefined ? '' : `  up ${b.up}`}`
        : `  Port_Binding ${p.name}: none yet (ovn-northd has not translated the port)`,
    );
  }
  return out;
}
