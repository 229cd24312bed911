// What this agent made on the machine, written before each thing is made, so that a later run
// (after a crash or kill -9) removes exactly these and nothing else.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentState {
  instance: string;
  /** The integration bridge; with the userspace datapath it is also a tap device of that name. */
  bridge: string;
  /** True once our ovs-vswitchd may have created the datapath's `ovs-netdev` tap. */
  datapath: boolean;
  /** Pids of the daemons we started (checked against their command line before any kill). */
  pids: number[];
  /** netns name -> host veth name. */
  namespaces: Record<string, string>;
}

export const stateFile = (dir: string) => join(dir, 'agent-state.json');

export function readState(dir: string): AgentState | undefined {
  const f = stateFile(dir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as AgentState;
  } catch {
    return undefined;
  }
}

export function writeState(dir: string, s: AgentState) {
  const f = stateFile(dir);
  writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2));
  renameSync(`${f}.tmp`, f);
}

export function removeState(dir: string) {
  rmSync(stateFile(dir), { force: true });
}
