// The thin I/O layer over the pure ops: read, compare, write one guarded transaction, and retry
// when a guard fails because someone else wrote first. Every method is idempotent: calling it
// again (or from eight replicas at once) converges on the same single row.
import { applyParentChange, type ParentChange } from '../../domain/aap.ts';
import { DomainError, Reason } from '../../domain/errors.ts';
import { WaitFailed } from '../../ovsdb/errors.ts';
import type { Operation, OperationResult } from '../../ovsdb/protocol.ts';
import { CreateBatch } from './create-batch.ts';
import { DeleteBatch } from './delete-batch.ts';
import { GuardBatch } from './guard-batch.ts';
import {
  healthCheckFromRow,
  type LoadBalancer,
  type LogicalSwitch,
  type LogicalSwitchPort,
  loadBalancerFromRow,
  logicalSwitchFromRow,
  logicalSwitchPortFromRow,
} from './model.ts';
import {
  createLoadBalancerOps,
  deleteLoadBalancerOps,
  type LoadBalancerSpec,
  selectHealthChecks,
  selectLoadBalancerByName,
  updateLoadBalancerOps,
} from './ops/load-balancer.ts';
import {
  createSwitchOps,
  deleteSwitchOps,
  type LogicalSwitchSpec,
  requireSwitch,
  selectSwitchByName,
  updateSwitchOps,
} from './ops/logical-switch.ts';
import {
  createPortsOps,
  deletePortOps,
  guardOptions,
  guardPort,
  type PodPortInput,
  type PortSpec,
  parentsOf,
  podPortSpec,
  samePortSecurity,
  selectPortByName,
  setPortOptionsOps,
  setPortSecurityOps,
  updatePortOps,
  VIRTUAL_IP,
  type VipPortsInput,
  type VirtualPortInput,
  vipPortNames,
  vipVirtualPortInputs,
  virtualParentsMutateOps,
  virtualPortSpec,
  withParents,
} from './ops/logical-switch-port.ts';
import { NorthboundReader, type Transactor, type WriterOptions } from './reader.ts';

export type { Transactor, WriterOptions } from './reader.ts';

/** A virtual port's parents before and after a change (equal: nothing was written to it). */
export interface VirtualParentsChange {
  name: string;
  before: string[];
  after: string[];
}

/**
 * Reads (NorthboundReader), compares, and writes one guarded transaction per operation; the
 * guard-only checks, new ports and deleted ports of concurrent callers share transactions.
 */
export class NorthboundWriter extends NorthboundReader {
  /** Guard-only checks, batched into shared transactions. */
  private readonly guards: GuardBatch;
  /** New ports, created together per switch. */
  readonly creates: CreateBatch;
  /** Deleted ports, detached together per switch. */
  readonly deletes: DeleteBatch;
  constructor(client: Transactor, opts: WriterOptions = {}) {
    super(client, opts);
    this.guards = new GuardBatch(client);
    this.creates = new CreateBatch(client);
    this.deletes = new DeleteBatch(client);
  }

  // ----------------------------------------------------------------------------- switches

  /** The subnet's switch with other_config subnet / exclude_ips / gateway; created if missing. */
  ensureLogicalSwitch(spec: LogicalSwitchSpec): Promise<LogicalSwitch> {
    return this.retry(`ensureLogicalSwitch ${spec.name}`, async () => {
      const current = await this.getLogicalSwitch(spec.name);
      if (!current) await this.client.transact(createSwitchOps(spec));
      else {
        const ops = updateSwitchOps(current, spec);
        if (ops.length === 0) return current;
        await this.client.transact(ops);
      }
      return (await this.getLogicalSwitch(spec.name))!;
    });
  }

  /**
   * Deletes the switch (its ports go with it) and, in the same transaction, the load balancers
   * attached to it that `owned` says are ours (detached from any other switch first). Returns the
   * names of the load balancers deleted; a switch already gone is not an error.
   */
  deleteLogicalSwitch(
    name: string,
    owned: (lb: LoadBalancer) => boolean,
  ): Promise<{ deleted: boolean; loadBalancers: string[] }> {
    return this.retry(`deleteLogicalSwitch ${name}`, async () => {
      const current = await this.getLogicalSwitch(name);
      if (!current) return { deleted: false, loadBalancers: [] };
      const attached = new Set(current.loadBalancers);
      const lbs =
        attached.size === 0
          ? []
          : (await this.listLoadBalancers()).filter((lb) => attached.has(lb.uuid) && owned(lb));
      await this.client.transact([
        ...deleteSwitchOps(current),
        ...lbs.flatMap((lb) => deleteLoadBalancerOps(lb.uuid)),
      ]);
      return { deleted: true, loadBalancers: lbs.map((lb) => lb.name) };
    });
  }

  // ----------------------------------------------------------------------------- ports

  /**
   * Makes each port match its spec in one transaction: guarded updates of the ports that exist,
   * inserts of the others. With a port cache, the first attempt takes a name missing from the
   * cache for a new port and inserts it without asking the server (a select by name scans the
   * whole table: 4 ms at 10,000 ports); if it did exist after all, the name's unique index refuses
   * the insert and the next attempt reads the server.
   */
  private ensurePorts(
    switchName: string,
    names: string[],
    specOf: (name: string, current: LogicalSwitchPort | undefined) => PortSpec,
  ): Promise<LogicalSwitchPort[]> {
    return this.retry(`ensurePorts ${names.join(',')}`, async (attempt) => {
      const current = await this.readPorts(names, { cacheMissIsAbsent: attempt === 1 });
      const specs = names.map((n) => specOf(n, current.get(n)));
      const ops: Operation[] = [];
      const fresh = specs.filter((spec) => !current.has(spec.name));
      for (const spec of specs) {
        const cur = current.get(spec.name);
        if (cur) ops.push(...updatePortOps(cur, spec));
      }
      // The new ports' inserts after the updates, then one mutate of the switch's ports for all.
      const insertAt = new Map(fresh.map((spec, k) => [spec.name, ops.length + k + 1])); // +1: requireSwitch goes first
      if (fresh.length > 0) ops.push(...createPortsOps(switchName, fresh, 'port'));
      if (ops.length === 0) return specs.map((s) => current.get(s.name)!);
      if (fresh.length === specs.length) {
        // Only new ports: created together with other callers' new ports of this switch.
        const uuids = await this.requiringSwitch(switchName, () => this.creates.create(switchName, specs));
        return specs.map((spec, i) => {
          const { switchName: _, ...fields } = spec;
          return { ...fields, uuid: uuids[i]! };
        });
      }
      // The switch must exist, or the inserted port would be garbage-collected unreferenced.
      const results = await this.transactRequiringSwitch(switchName, ops);
      // What was committed is exactly the spec (guards held), so no read-back is needed.
      return specs.map((spec) => {
        const at = insertAt.get(spec.name);
        const uuid = at === undefined ? current.get(spec.name)!.uuid : results[at]!.uuid!;
        const { switchName: _, ...fields } = spec;
        return { ...fields, uuid };
      });
    });
  }

  private transactRequiringSwitch(switchName: string, ops: Operation[]): Promise<OperationResult[]> {
    return this.requiringSwitch(switchName, () => this.client.transact([requireSwitch(switchName), ...ops]));
  }

  /** Runs a transaction whose operation 0 is requireSwitch; its failure means the subnet is not ready. */
  private async requiringSwitch<T>(switchName: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof WaitFailed && err.index === 0) {
        throw new DomainError(
          Reason.SubnetNotReady,
          `logical switch ${switchName} does not exist in OVN NB`,
          {
            logicalSwitch: switchName,
          },
        );
      }
      throw err;
    }
  }

  private async readPorts(
    names: string[],
    opts: { cacheMissIsAbsent?: boolean } = {},
  ): Promise<Map<string, LogicalSwitchPort>> {
    const out = new Map<string, LogicalSwitchPort>();
    if (this.cache) {
      for (const n of names) {
        const p = this.cache.get(n);
        if (p) out.set(n, p);
      }
      // A port another client created a moment ago may not have reached this cache yet: absent
      // from the cache is not proof of absence, so those names are asked of the server, unless
      // the caller's write is refused for an existing name anyway (an insert: unique index).
      names = names.filter((n) => !out.has(n));
      if (names.length === 0 || opts.cacheMissIsAbsent) return out;
    }
    const results = await this.read(names.map(selectPortByName));
    for (const r of results) {
      const row = r.rows?.[0];
      if (row) {
        const p = logicalSwitchPortFromRow(row);
        out.set(p.name, p);
      }
    }
    return out;
  }

  /** A pod's port: addresses "<mac> <ip>[ <ip6>]", external_ids ls, vendor, pod. */
  async ensurePort(input: PodPortInput): Promise<LogicalSwitchPort> {
    const [p] = await this.ensurePorts(input.switchName, [input.name], (_, cur) => podPortSpec(input, cur));
    return p!;
  }

  /**
   * Sets a port's port_security to what `compute` derives from state kept outside NB (the API
   * server), correct against any number of concurrent refreshers of the same port whatever the
   * order their reads and writes interleave in. `compute` gets the port as read and returns the
   * column's value, or undefined to leave the port alone. Returns the value the port was left
   * with (undefined: no port, or compute declined).
   *
   * Why it converges on the value of the latest API state (every API change is followed by a
   * refresh that starts after it):
   * - Each pass reads NB first, then (in compute) the API server, then commits guarded by a wait on
   *   the port as read. So a pass whose API view predates a concurrent pass's write fails its wait
   *   and starts over instead of overwriting the fresher value.
   * - That alone is not enough: a pass with nothing to change writes nothing, so it cannot fail a
   *   stale writer's wait (A reads NB=X and API state S1; the API goes to S2 with f(S2)=X; B reads X
   *   and S2 and has nothing to do; A's write of f(S1) guarded on X succeeds). So a pass that wrote
   *   is followed by another: its API read comes after its own write, so after any change its
   *   earlier view missed, and it repairs the value. Only a pass that changes nothing ends.
   * - With a port cache (which may lag the server), a pass that finds nothing to change still has
   *   the wait checked on the server after the API read (checkGuard: with the waits of other
   *   passes that asked meanwhile, in one transaction).
   */
  async refreshPortSecurity(
    name: string,
    compute: (port: LogicalSwitchPort) => Promise<string[] | undefined>,
  ): Promise<string[] | undefined> {
    // The port as our own last committed write left it: as fresh as a server read.
    let written: LogicalSwitchPort | undefined;
    for (let pass = 1; ; pass++) {
      const step = await this.retry(`port_security of ${name}`, async () => {
        const fresh = written !== undefined || !this.cache;
        const port = written ?? (await this.getPort(name));
        written = undefined;
        if (!port) return { done: true as const };
        const want = await compute(port);
        if (!want) return { done: true as const };
        const have = port.portSecurity ?? [];
        if (samePortSecurity(have, want)) {
          if (!fresh) await this.guards.check(guardPort(port));
          return { done: true as const, value: have };
        }
        await this.client.transact(setPortSecurityOps(port, want));
        return { done: false as const, port: { ...port, portSecurity: [...want] } };
      });
      if (step.done) return step.value;
      if (pass >= this.maxAttempts)
        throw new Error(`port_security of ${name}: still changing after ${pass} writes`);
      written = step.port;
    }
  }

  /**
   * Sets `options:arp_proxy` of the router-type ports on `switchName` to `compute()` (IPv4
   * addresses; [] removes the key): the gateway then answers ARP for them with its own MAC.
   * OVN 23.03 honours arp_proxy only on router-type switch ports. Like refreshPortSecurity, a pass
   * that wrote is followed by one that reads the switch and calls `compute` again, so a writer
   * that decided from an older list of addresses is corrected (the write is guarded by the read).
   */
  async refreshArpProxy(switchName: string, compute: () => Promise<string[]>): Promise<void> {
    for (let pass = 1; ; pass++) {
      const wrote = await this.retry(`arp_proxy on ${switchName}`, async () => {
        const routers = (await this.listPorts({ switchName })).filter((p) => p.type === 'router');
        if (routers.length === 0) return false;
        const want = [...new Set(await compute())].sort();
        let ops: Operation[] = [];
        for (const port of routers) {
          const options = { ...port.options };
          if (want.length > 0) options.arp_proxy = want.join(' ');
          else delete options.arp_proxy;
          ops = ops.concat(setPortOptionsOps(port, options));
        }
        if (ops.length === 0) return false;
        await this.client.transact(ops);
        return true;
      });
      if (!wrote) return;
      if (pass >= this.maxAttempts)
        throw new Error(`arp_proxy on ${switchName}: still changing after ${pass} writes`);
    }
  }

  /** One virtual port (one address), exactly as the seed's AAP Vip shows it. */
  async ensureVirtualPort(input: VirtualPortInput): Promise<LogicalSwitchPort> {
    return (await this.ensureVirtualPortChange(input)).after;
  }

  /** Like ensureVirtualPort, and also returns the port as it was before (undefined: created). */
  async ensureVirtualPortChange(
    input: VirtualPortInput,
  ): Promise<{ before: LogicalSwitchPort | undefined; after: LogicalSwitchPort }> {
    let before: LogicalSwitchPort | undefined;
    const [after] = await this.ensurePorts(input.switchName, [input.name], (_, cur) => {
      before = cur; // the read of the attempt that committed (each retry reads again)
      return virtualPortSpec(input, cur);
    });
    return { before, after: after! };
  }

  /** A Vip's virtual port(s): one per family (see V6_PORT_SUFFIX), written in one transaction. */
  ensureVipPorts(input: VipPortsInput): Promise<LogicalSwitchPort[]> {
    const inputs = vipVirtualPortInputs(input);
    if (inputs.length === 0)
      throw new DomainError(Reason.InvalidAddress, `Vip ${input.vipName} has no address`);
    return this.ensurePorts(
      input.switchName,
      inputs.map((i) => i.name),
      (name, cur) => virtualPortSpec(inputs.find((i) => i.name === name)!, cur),
    );
  }

  /**
   * One pod's change to the parents of a Vip's virtual port(s): `change` applied to each port's
   * list as it is now, in one transaction of guarded mutates (virtualParentsMutateOps), re-read
   * and retried when another writer changed a list first, so concurrent changes from any number
   * of writers all land. Undefined, with nothing written, when a port is missing or is not the
   * virtual port of `virtualIp`: the caller then reconciles the whole Vip.
   */
  changeVirtualParents(
    ports: readonly { name: string; virtualIp: string }[],
    change: ParentChange,
    opts: { confirm?: boolean } = {},
  ): Promise<VirtualParentsChange[] | undefined> {
    const names = ports.map((p) => p.name);
    return this.retry(`parents of ${names.join(',')}`, async () => {
      const fromCache = !!this.cache;
      const current = await this.readPorts(names);
      const out: VirtualParentsChange[] = [];
      const ops: Operation[] = [];
      for (const want of ports) {
        const port = current.get(want.name);
        if (port?.type !== 'virtual' || port.options[VIRTUAL_IP] !== want.virtualIp) return undefined;
        const before = parentsOf(port);
        const after = applyParentChange(before, change);
        ops.push(...virtualParentsMutateOps(port, after));
        out.push({
          name: port.name,
          before,
          after: parentsOf({ options: withParents(port.options, after) }),
        });
      }
      if (ops.length > 0) await this.client.transact(ops);
      // Nothing to write, but the caller acts on the lists: prove the cache's copy current now.
      else if (opts.confirm && fromCache)
        await Promise.all(names.map((n) => this.guards.check(guardOptions(current.get(n)!))));
      return out;
    });
  }

  /** Deletes the port (and detaches it from its switch). Returns false if it did not exist. */
  async deletePort(name: string): Promise<boolean> {
    return (await this.deletePortReturning(name)) !== undefined;
  }

  /** Deletes the port and returns it as it was read just before (undefined: it did not exist). */
  deletePortReturning(name: string): Promise<LogicalSwitchPort | undefined> {
    return this.retry(`deletePort ${name}`, async () => {
      const port = await this.getPort(name);
      if (!port) return undefined;
      // Ports that name their switch are deleted together with other callers' (one mutate per switch).
      const ls = port.externalIds.ls;
      if (ls) await this.deletes.delete(port.uuid, ls);
      else await this.client.transact(deletePortOps(port.uuid));
      return port;
    });
  }

  /** Deletes every virtual port of a Vip (both families). Returns how many existed. */
  async deleteVipPorts(vipName: string): Promise<number> {
    let n = 0;
    for (const name of vipPortNames(vipName)) if (await this.deletePort(name)) n++;
    return n;
  }

  // ----------------------------------------------------------------------------- load balancers

  /** The balancer of a SwitchLBRule, attached to its switch; created or brought to the spec. */
  ensureLoadBalancer(spec: LoadBalancerSpec): Promise<LoadBalancer> {
    return this.retry(`ensureLoadBalancer ${spec.name}`, async () => {
      const [lbR, swR] = await this.read([
        selectLoadBalancerByName(spec.name),
        selectSwitchByName(spec.switchName, ['_uuid', 'load_balancer']),
      ]);
      const swRow = swR?.rows?.[0];
      if (!swRow) {
        throw new DomainError(
          Reason.SubnetNotReady,
          `logical switch ${spec.switchName} does not exist in OVN NB`,
          {
            logicalSwitch: spec.switchName,
          },
        );
      }
      const sw = logicalSwitchFromRow({ ...swRow, name: spec.switchName });
      const lbRow = lbR?.rows?.[0];
      const current = lbRow ? loadBalancerFromRow(lbRow) : undefined;
      // Its health checks as they are now; the update's guard on the balancer's `health_check`
      // column covers them (a check row is only ever replaced, never edited, by this writer).
      const checks =
        current && current.healthChecks.length > 0
          ? (await this.read(selectHealthChecks(current.healthChecks))).flatMap((r) =>
              (r?.rows ?? []).map(healthCheckFromRow),
            )
          : [];
      const ops = current
        ? updateLoadBalancerOps(current, spec, { attached: sw.loadBalancers.includes(current.uuid), checks })
        : createLoadBalancerOps(spec);
      if (ops.length > 0) await this.transactRequiringSwitch(spec.switchName, ops);
      const [after] = await this.read([selectLoadBalancerByName(spec.name)]);
      return loadBalancerFromRow(after!.rows![0]!);
    });
  }

  deleteLoadBalancer(name: string): Promise<boolean> {
    return this.retry(`deleteLoadBalancer ${name}`, async () => {
      const [r] = await this.read([selectLoadBalancerByName(name)]);
      const rows = r?.rows ?? [];
      if (rows.length === 0) return false;
      await this.client.transact(rows.flatMap((row) => deleteLoadBalancerOps(loadBalancerFromRow(row).uuid)));
      return true;
    });
  }
}
