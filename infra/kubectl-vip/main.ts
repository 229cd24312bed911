// `kubectl vip`: the operator's view of Vip reservation from the command line (kubectl runs any
// `kubectl-vip` on PATH as `kubectl vip`; bin/kubectl-vip starts this file). Reads only, except
// `audit --repair`. The decisions and wording live in shared/occupancy and shared/audit.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { auditSystem, driftTable, repair, repairLine, summaryLine } from '../../shared/audit/index.ts';
import type { Vip } from '../../shared/domain/types.ts';
import { parseIp } from '../../shared/ipam/index.ts';
import { inBlock } from '../../shared/ipam/subnet-range.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import {
  aapRows,
  listReservations,
  type PortBindingView,
  rangeOf,
  type SubnetReservations,
  subnetSummaries,
  traceLines,
  whoHolds,
  whoLines,
} from '../../shared/occupancy/index.ts';
import { connectNorthbound, parentsOf, vipPortNames } from '../../shared/ovn/nb/index.ts';
import { SB_DATABASE } from '../../shared/ovn/sb/virtual-parent.ts';
import { OvsdbClient } from '../../shared/ovsdb/client.ts';
import { atomString, op, optional, uuid, uuidString, where, whereUuid } from '../../shared/ovsdb/protocol.ts';
import { parseRemotes } from '../../shared/ovsdb/transport.ts';
import { openAuditPorts } from '../wiring/audit.ts';
import { createPorts } from '../wiring/redis.ts';
import { type Connection, resolveConnection } from './connect.ts';

const ROOT = resolve(import.meta.dirname, '../..');

const USAGE = `usage: kubectl vip <command> [flags]

commands:
  who <ip>           which Vip, pod or manual owner holds an address, in which subnet
  usage [subnet]     used / available / excluded per subnet and family, as the Subnet status counts
  holders            allowed-address-pair Vips: parents (OVN NB virtual-parents) and live holder
  audit [--repair]   compare the API server, Redis and OVN NB; --repair fixes drift toward the API server
  trace <vip>        the OVN NB rows (logical switch ports, load balancers) and SB Port_Binding of a Vip

flags:
  -o, --output json  one JSON document instead of text (who, usage, holders, audit)
  --kubeconfig FILE  else $KUBECONFIG, else ~/.kube/config, else the local stack's
  --redis-url URL    else $REDIS_URL             --redis-cluster H:P,..  else $REDIS_CLUSTER_NODES
  --nb REMOTES       else $OVN_NB_REMOTES        --sb REMOTES            else $OVN_SB_REMOTES
  --stack FILE       fallback for all of them (default: .local/stack.json of npm start)

exit code: 0 done (audit: clean), 1 not found / drift left, 2 usage or connection error`;

class UsageError extends Error {}

type Out = (line: string) => void;

async function main(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      repair: { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-cluster': { type: 'string' },
      nb: { type: 'string' },
      sb: { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (values.output !== undefined && values.output !== 'json') throw new UsageError('-o takes only "json"');
  const json = values.output === 'json';
  const conn = resolveConnection(values, process.env, ROOT);
  const want = (n: number, what: string) => {
    if (args.length !== n) throw new UsageError(`${command} takes ${what}`);
  };

  switch (command) {
    case 'who':
      want(1, 'one address: kubectl vip who <ip>');
      return who(conn, args[0]!, json, out);
    case 'usage':
      if (args.length > 1) throw new UsageError('usage takes at most one subnet name');
      return usage(conn, args[0], json, out);
    case 'holders':
      want(0, 'no arguments');
      return holders(conn, json, out);
    case 'audit':
      want(0, 'no arguments (flags: --repair, -o json)');
      return audit(conn, values.repair, json, out);
    case 'trace':
      want(1, 'one Vip name: kubectl vip trace <vip>');
      return trace(conn, args[0]!, out);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function kubeOf(conn: Connection): Kube {
  if (!conn.config.kubeconfig) throw new Error('no kubeconfig: pass --kubeconfig or set KUBECONFIG');
  return createKube({ kubeconfigPath: conn.config.kubeconfig, requestTimeoutMs: 15_000 });
}

function needNb(conn: Connection): string {
  if (!conn.config.nbRemotes) throw new Error('no OVN NB: pass --nb, set OVN_NB_REMOTES, or run npm start');
  return conn.config.nbRemotes;
}

/** Runs `body` with the allocator and the Kubernetes client, closing both after. */
async function withAllocator<T>(
  conn: Connection,
  body: (p: ReturnType<typeof createPorts>, kube: Kube) => Promise<T>,
) {
  if (conn.sources.redis === 'none')
    throw new Error('no Redis: pass --redis-url, set REDIS_URL, or run npm start');
  const ports = createPorts(conn.config);
  const kube = kubeOf(conn);
  try {
    return await body(ports, kube);
  } finally {
    kube.close();
    await ports.close();
  }
}

async function who(conn: Connection, text: string, json: boolean, out: Out): Promise<number> {
  const ip = parseIp(text);
  if (!ip) throw new UsageError(`"${text}" is not an IP address`);
  return withAllocator(conn, async ({ allocator }, kube) => {
    // Only the subnets whose block holds the address are listed.
    const subnets: SubnetReservations[] = [];
    for (const s of await kube.listSubnets()) {
      const info = await allocator.getSubnet(s.metadata.name);
      const fr = info && rangeOf(info).families.find((f) => f.family === ip.family);
      if (!info || !fr || !inBlock(fr, ip.value)) continue;
      subnets.push({ info, reservations: await listReservations(allocator, info.name) });
    }
    const answer = whoHolds(text, subnets)!;
    if (json) out(JSON.stringify(answer, null, 2));
    else for (const l of whoLines(answer)) out(l);
    return answer.uses.length > 0 ? 0 : 1;
  });
}

async function usage(conn: Connection, subnet: string | undefined, json: boolean, out: Out): Promise<number> {
  return withAllocator(conn, async ({ allocator }, kube) => {
    const all = await subnetSummaries({ allocator, kube });
    const shown = subnet ? all.filter((s) => s.name === subnet) : all;
    if (subnet && shown.length === 0) {
      out(`subnet ${subnet} not found (no such Subnet, or not registered with the allocator yet)`);
      return 1;
    }
    if (json) {
      out(JSON.stringify({ subnets: shown }, null, 2));
      return 0;
    }
    const rows = [['SUBNET', 'FAMILY', 'CIDR', 'USED', 'AVAILABLE', 'EXCLUDED', 'USING']];
    for (const s of shown) {
      for (const u of s.usage) {
        rows.push([
          s.name,
          `IPv${u.family}`,
          u.cidr,
          String(u.used),
          u.availableExact,
          u.excluded,
          u.usingRange || '-',
        ]);
      }
    }
    for (const l of table(rows)) out(l);
    return 0;
  });
}

async function holders(conn: Connection, json: boolean, out: Out): Promise<number> {
  const kube = kubeOf(conn);
  const nb = await connectNorthbound({ remotes: needNb(conn), portCache: false });
  try {
    const vips = await kube.listVips();
    const parents = new Map<string, string[]>();
    for (const v of vips) {
      const names = new Set<string>();
      for (const port of vipPortNames(v.metadata.name)) {
        const row = await nb.writer.getPort(port);
        for (const p of row ? parentsOf(row) : []) names.add(p);
      }
      parents.set(v.metadata.name, [...names]);
    }
    const rows = aapRows(vips, (v: Vip) => parents.get(v.metadata.name) ?? []);
    if (json) {
      out(JSON.stringify({ vips: rows }, null, 2));
      return 0;
    }
    if (rows.length === 0) {
      out('no allowed-address-pair Vips');
      return 0;
    }
    const lines = [['VIP', 'SUBNET', 'NAMESPACE', 'ADDRESS', 'PARENTS', 'HOLDER']];
    for (const r of rows) {
      lines.push([
        r.name,
        r.subnet,
        r.namespace,
        r.addresses.join(',') || '-',
        r.parents.join(',') || '-',
        r.holder || '-',
      ]);
    }
    for (const l of table(lines)) out(l);
    return 0;
  } finally {
    kube.close();
    await nb.close();
  }
}

async function audit(conn: Connection, doRepair: boolean, json: boolean, out: Out): Promise<number> {
  needNb(conn);
  const ports = await openAuditPorts(conn.config);
  try {
    const before = await auditSystem(ports);
    if (!doRepair || before.drifts.length === 0) {
      if (json) out(JSON.stringify({ clean: before.drifts.length === 0, ...before }, null, 2));
      else {
        if (before.drifts.length > 0) out(driftTable(before.drifts, { maxDetail: 100 }));
        out(summaryLine(before.drifts, before.counts));
      }
      return before.drifts.length === 0 ? 0 : 1;
    }
    const report = await repair(before.drifts, ports);
    const after = await auditSystem(ports);
    if (json) {
      out(JSON.stringify({ clean: after.drifts.length === 0, before, repair: report, after }, null, 2));
    } else {
      out(driftTable(before.drifts, { maxDetail: 100 }));
      out(summaryLine(before.drifts, before.counts));
      out(repairLine(report));
      for (const f of report.failed) out(`  failed  ${f.drift.kind} ${f.drift.object}: ${f.error}`);
      for (const s of report.skipped) out(`  skipped ${s.drift.kind} ${s.drift.object}: ${s.why}`);
      out('after repair:');
      if (after.drifts.length > 0) out(driftTable(after.drifts, { maxDetail: 100 }));
      out(summaryLine(after.drifts, after.counts));
    }
    return after.drifts.length === 0 ? 0 : 1;
  } finally {
    await ports.close();
  }
}

async function trace(conn: Connection, name: string, out: Out): Promise<number> {
  const kube = kubeOf(conn);
  try {
    const vip = await kube.getVip(name);
    if (!vip) {
      out(`Vip ${name} not found`);
      return 1;
    }
    const nb = await connectNorthbound({ remotes: needNb(conn), portCache: false });
    let ports: { name: string; row?: Awaited<ReturnType<typeof nb.writer.getPort>>; switchName?: string }[];
    let loadBalancers: Awaited<ReturnType<typeof nb.writer.listLoadBalancers>>;
    try {
      ports = [];
      for (const p of vipPortNames(name)) {
        const row = await nb.writer.getPort(p);
        // The switch whose `ports` holds the row (a port in none would be garbage-collected).
        const [sw] = row
          ? await nb.client.transact([
              op.select('Logical_Switch', [where('ports', 'includes', uuid(row.uuid))], ['name']),
            ])
          : [];
        const switchName = sw?.rows?.[0]?.name;
        ports.push({
          name: p,
          ...(row ? { row } : {}),
          ...(switchName === undefined ? {} : { switchName: atomString(switchName as never) }),
        });
      }
      loadBalancers = await nb.writer.listLoadBalancers();
    } finally {
      await nb.close();
    }
    const bindings = conn.sbRemotes
      ? await readBindings(
          conn.sbRemotes,
          ports.filter((p) => p.row).map((p) => p.name),
        )
      : 'no OVN Southbound to read (no --sb, OVN_SB_REMOTES or dataplane in the stack file): the stack runs without ' +
        'the dataplane, so nothing binds ports; NB above is what ovn-northd would translate';
    for (const l of traceLines({ vip, ports, loadBalancers, bindings })) out(l);
    return 0;
  } finally {
    kube.close();
  }
}

/** Port_Binding rows by logical port name, with the chassis by name. */
async function readBindings(
  remotes: string,
  names: string[],
): Promise<Record<string, PortBindingView | undefined>> {
  const client = await OvsdbClient.connect({
    remotes: parseRemotes(remotes),
    database: SB_DATABASE,
    reconnect: { enabled: false },
  });
  try {
    const out: Record<string, PortBindingView | undefined> = {};
    if (names.length === 0) return out;
    const results = await client.transact(
      names.map((n) =>
        op.select(
          'Port_Binding',
          [where('logical_port', '==', n)],
          ['logical_port', 'type', 'chassis', 'virtual_parent', 'up'],
        ),
      ),
    );
    for (const [i, n] of names.entries()) {
      const row = results[i]?.rows?.[0];
      if (!row) continue;
      const chassisUuid = optional(row.chassis) === undefined ? '' : uuidString(row.chassis);
      let chassis = '';
      if (chassisUuid) {
        const [c] = await client.transact([op.select('Chassis', [whereUuid(chassisUuid)], ['name'])]);
        chassis = c?.rows?.[0]?.name === undefined ? chassisUuid : atomString(c.rows[0].name as never);
      }
      const up = optional(row.up);
      out[n] = {
        logicalPort: n,
        type: atomString((row.type as never) ?? ''),
        chassis,
        virtualParent:
          optional(row.virtual_parent) === undefined ? '' : atomString(optional(row.virtual_parent)!),
        ...(up === undefined ? {} : { up: up === true }),
      };
    }
    return out;
  } finally {
    client.close();
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

main(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usageError =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`kubectl vip: ${err instanceof Error ? err.message : String(err)}\n`);
    if (usageError) process.stderr.write('run "kubectl vip --help" for usage\n');
    process.exit(2);
  },
);
