// CPU time per process of a stack over a measured window, read from /proc (utime + stime of the
// pids we started) and process.cpuUsage() for this process (the in-process API server and the load
// generator). It tells where a Vip's CPU goes, which is what bounds throughput on a small machine.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuMsOfPid(pid: number): number | undefined {
  try {
    // Fields after the command name "(...)": state is field 3; utime, stime are fields 14, 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined; // gone, or not Linux
  }
}

export interface CpuSample {
  readonly parts: Record<string, number>;
}

/** Named processes to account for; `self` is always added. */
export function sampleCpu(pids: Record<string, number | number[]>): CpuSample {
  const parts: Record<string, number> = {};
  for (const [name, p] of Object.entries(pids)) {
    const list = Array.isArray(p) ? p : [p];
    parts[name] = list.reduce((sum, pid) => sum + (cpuMsOfPid(pid) ?? 0), 0);
  }
  const self = process.cpuUsage();
  parts.self = (self.user + self.system) / 1000;
  return { parts };
}

/** CPU milliseconds spent per unit of work in each part between two samples. */
export function cpuPerUnit(before: CpuSample, after: CpuSample, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(after.parts)) out[name] = (v - (before.parts[name] ?? 0)) / units;
  return out;
}

export function formatCpu(perUnit: Record<string, number>): string {
  const total = Object.values(perUnit).reduce((a, b) => a + b, 0);
  return `${Object.entries(perUnit)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ')}; total ${total.toFixed(2)} ms`;
}
