// Reads which parent port OVN currently binds a Vip's address to: the southbound
// Port_Binding.virtual_parent that ovn-controller sets when a parent claims the address (a
// gratuitous ARP / ND). This is a Vip's status.holder; empty while no parent has claimed it.
import { vipPortNames } from '../../domain/ownership.ts';
import type { OvsdbClient } from '../../ovsdb/client.ts';
import { atomString, op, optional, where } from '../../ovsdb/protocol.ts';

export const SB_DATABASE = 'OVN_Southbound';

/** virtual_parent of each named port ('' when unclaimed or when the port has no binding yet). */
export async function virtualParents(
  client: Pick<OvsdbClient, 'transact'>,
  portNames: readonly string[],
): Promise<Record<string, string>> {
  const results = await client.transact(
    portNames.map((n) => op.select('Port_Binding', [where('logical_port', '==', n)], ['virtual_parent'])),
  );
  const out: Record<string, string> = {};
  portNames.forEach((n, i) => {
    const v = optional(results[i]?.rows?.[0]?.virtual_parent);
    out[n] = v === undefined ? '' : atomString(v);
  });
  return out;
}

/** A Vip's holder: the parent bound to `<vip>`, else to `<vip>_v6` (dual stack, v6 claimed alone). */
export async function vipHolder(client: Pick<OvsdbClient, 'transact'>, vipName: string): Promise<string> {
  const names = vipPortNames(vipName);
  const parents = await virtualParents(client, names);
  return names.map((n) => parents[n]).find(Boolean) ?? '';
}
