// The OVN/OVS daemons of one node, each run as our child in the agent's own directory: the
// southbound ovsdb-server, ovn-northd, the Open_vSwitch database, ovs-vswitchd (userspace
// datapath: no kernel module) and ovn-controller. Every daemon and tool call gets the agent's
// run directory through OVS_RUNDIR/OVN_RUNDIR, so nothing touches /var/run.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type Daemon,
  type OvsdbServer,
  spawnDaemon,
  startOvsdbServer,
  startSbServer,
  waitFor,
} from '../local/services.ts';

const run = promisify(execFile);

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/** The environment every daemon and tool of this node runs with. */
export function nodeEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`,
    OVS_RUNDIR: dir,
    OVS_DBDIR: dir,
    OVS_LOGDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVN_RUNDIR: dir,
    OVN_DBDIR: dir,
    OVN_LOGDIR: dir,
    OVN_SYSCONFDIR: dir,
  };
}

/** Runs one tool with the node's environment; rejects with its stderr on failure. */
export async function tool(dir: string, cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env: nodeEnv(dir), timeout: timeoutMs });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

export interface Ovs {
  readonly db: OvsdbServer;
  readonly vswitchd: Daemon;
  /** `unix:DIR/conf.sock`, what ovs-vsctl and ovn-controller take. */
  readonly dbRemote: string;
  vsctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** The Open_vSwitch database and ovs-vswitchd. */
export async function startOvs(dir: string): Promise<Ovs> {
  mkdirSync(dir, { recursive: true });
  const db = await startOvsdbServer({ schema: VSWITCH_SCHEMA, dir, name: 'conf' });
  const dbRemote = `unix:${db.unixSocket}`;
  const vsctl = (...args: string[]) => tool(dir, 'ovs-vsctl', [`--db=${dbRemote}`, '--timeout=10', ...args]);
  await vsctl('--no-wait', 'init');
  const vswitchd = spawnDaemon(
    'ovs-vswitchd',
    'ovs-vswitchd',
    [
      dbRemote,
      `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`,
      `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
      `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
    ],
    dir,
    { env: nodeEnv(dir) },
  );
  // vswitchd is up once it acknowledges a change (ovs-vsctl without --no-wait waits for that).
  await waitFor(
    'ovs-vswitchd',
    async () => {
      await vsctl('--timeout=2', 'set', 'open_vswitch', '.', 'external_ids:vipres=1');
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  return {
    db,
    vswitchd,
    dbRemote,
    vsctl,
    async stop() {
      await vswitchd.stop();
      await db.stop();
    },
  };
}

export interface Sb {
  readonly server: OvsdbServer;
  readonly northd: Daemon;
  stop(): Promise<void>;
}

/** The southbound database and ovn-northd translating `nbRemote` into it. */
export async function startSouthbound(dir: string, nbRemote: string): Promise<Sb> {
  mkdirSync(dir, { recursive: true });
  const server = await startSbServer({ dir });
  const northd = spawnDaemon(
    'ovn-northd',
    'ovn-northd',
    [
      `--ovnnb-db=${nbRemote}`,
      `--ovnsb-db=${server.remote}`,
      `--pidfile=${join(dir, 'ovn-northd.pid')}`,
      `--log-file=${join(dir, 'ovn-northd.log')}`,
      `--unixctl=${join(dir, 'ovn-northd.ctl')}`,
    ],
    dir,
    { env: nodeEnv(dir) },
  );
  return {
    server,
    northd,
    async stop() {
      await northd.stop();
      await server.stop();
    },
  };
}

export interface ControllerOptions {
  dir: string;
  ovs: Ovs;
  sbRemote: string;
  chassis: string;
  bridge: string;
}

/** Creates the integration bridge (userspace datapath), points the chassis at SB, starts ovn-controller. */
export async function startOvnController(o: ControllerOptions): Promise<Daemon> {
  await o.ovs.vsctl(
    '--may-exist',
    'add-br',
    o.bridge,
    '--',
    'set',
    'bridge',
    o.bridge,
    'datapath_type=netdev',
    'fail-mode=secure',
    'other_config:disable-in-band=true',
  );
  await o.ovs.vsctl(
    'set',
    'open_vswitch',
    '.',
    `external_ids:system-id=${o.chassis}`,
    `external_ids:ovn-remote=${o.sbRemote}`,
    'external_ids:ovn-encap-type=geneve',
    'external_ids:ovn-encap-ip=127.0.0.1',
    `external_ids:ovn-bridge=${o.bridge}`,
  );
  return spawnDaemon(
    'ovn-controller',
    'ovn-controller',
    [
      o.ovs.dbRemote,
      `--pidfile=${join(o.dir, 'ovn-controller.pid')}`,
      `--log-file=${join(o.dir, 'ovn-controller.log')}`,
    ],
    o.dir,
    { env: nodeEnv(o.dir) },
  );
}
