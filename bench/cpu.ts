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

export interface MachineSample {
  busy: number;
  total: number;
  /** Busy share of all cores between the sample given and this one (0 for a first sample). */
  share: number;
}

/** The whole machine's CPU counters (/proc/stat): busy and total ticks, and the share since `before`. */
export function machineBusy(before?: MachineSample): MachineSample {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    const busy = total - idle;
    const share = before && total > before.total ? (busy - before.busy) / (total - before.total) : 0;
    return { busy, total, share };
  } catch {
    return { busy: 0, total: 0, share: 0 };
  }
}
