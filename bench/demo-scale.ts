// `npm run demo:scale [-- --vips N --replicas 1,2,4 --aap-every 10]`: the horizontal-scaling demo.
// For each replica count it starts a fresh stack, creates N Vips through the API server, waits for
// all of them to be Ready, and prints throughput, event -> Ready latency, CPU per Vip and the audit
// verdict. `npm run` runs it compiled (dist/), and the stack then runs the functions and the relay
// compiled too, as deployed.
//
// Latency-bound mode (`--rtt 5ms --concurrency 16`): every connection of the functions crosses a
// latency proxy and each replica takes at most 16 events at once, as replicas in a cluster do; the
// table shows the speed-up over one replica and where this machine's cores saturate. The
// CPU-bound rows (no RTT, no cap) follow as a second table (`--skip-cpu-bound` leaves them out).
//
// Autoscaler mode (`--autoscale`): bench/autoscale.ts.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration } from '../infra/relay/cli.ts';
import { runScale, type ScaleOptions, type ScaleResult } from './scale.ts';

const { values } = parseArgs({
  options: {
    vips: { type: 'string', default: '5000' },
    replicas: { type: 'string', default: '1,2,4' },
    'aap-every': { type: 'string', default: '10' },
    rtt: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'skip-cpu-bound': { type: 'boolean', default: false },
    json: { type: 'string' },
    autoscale: { type: 'boolean', default: false },
  },
  strict: false,
});

if (values.autoscale) {
  // Its own options; it parses the command line again.
  await import('./autoscale.ts');
} else {
  const vips = Number(values.vips);
  const replicaCounts = String(values.replicas).split(',').map(Number);
  const cores = availableParallelism();
  const latency = values.rtt
    ? { rttMs: parseDuration(String(values.rtt)), containerConcurrency: Number(values.concurrency) }
    : undefined;

  const runAll = async (mode: ScaleOptions['latency']) => {
    const results: ScaleResult[] = [];
    for (const replicas of replicaCounts) {
      console.log(
        `\n${replicas} replica(s)${mode ? `, RTT ${mode.rttMs} ms, ${mode.containerConcurrency} events per replica` : ', CPU-bound'}: ` +
          `creating ${vips} Vips (one in ${values['aap-every']} AAP with a parent pod)`,
      );
      const r = await runScale({
        replicas,
        vips,
        aapEvery: Number(values['aap-every']),
        ...(mode ? { latency: mode } : {}),
        progress: console.log,
      });
      console.log(
        `  done: ${r.vipsPerSecond.toFixed(0)} Vips/s, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms`,
      );
      results.push(r);
    }
    return results;
  };

  const clean = (r: ScaleResult) => r.duplicates + r.leaked + r.orphanRows + r.violations === 0;
  const cpuPerVip = (r: ScaleResult) => Object.values(r.cpuMsPerVip).reduce((a, b) => a + b, 0);
  // Where the curve bends because of the cores: the speed-up per replica falls under 0.8 while the
  // machine as a whole (every process on it, ours or not: it is shared) is at least 85% busy.
  const saturated = (r: ScaleResult, perReplica: number) => perReplica < 0.8 && r.machineBusy >= 0.85;

  const table = (title: string, results: ScaleResult[]) => {
    console.log(`\n${title}`);
    console.log(
      'replicas  Vips   seconds  Vips/s  speed-up  per replica  p50 ms  p99 ms  CPU ms/Vip  our cores  machine  audit',
    );
    const base = results[0];
    let marked = false;
    for (const r of results) {
      const speedUp = base ? r.vipsPerSecond / base.vipsPerSecond : 1;
      const perReplica = base ? speedUp / (r.replicas / base.replicas) : 1;
      const sat = saturated(r, perReplica);
      const mark = sat && !marked ? `  <- bends here: the ${cores} cores are saturated` : '';
      if (sat) marked = true;
      console.log(
        [
          String(r.replicas).padStart(8),
          String(r.vips).padStart(5),
          r.seconds.toFixed(1).padStart(8),
          r.vipsPerSecond.toFixed(0).padStart(6),
          `${speedUp.toFixed(2)}x`.padStart(8),
          `${perReplica.toFixed(2)}x`.padStart(11),
          r.p50.toFixed(0).padStart(6),
          r.p99.toFixed(0).padStart(6),
          cpuPerVip(r).toFixed(2).padStart(10),
          r.coresBusy.toFixed(2).padStart(9),
          `${(r.machineBusy * 100).toFixed(0)}%`.padStart(7),
          (clean(r)
            ? '  clean'
            : `  ${r.duplicates} dup, ${r.leaked} leaked, ${r.orphanRows} orphan, ${r.violations} other`) +
            mark,
        ].join('  '),
      );
    }
  };

  const latencyResults = latency ? await runAll(latency) : [];
  const cpuResults = latency && values['skip-cpu-bound'] ? [] : await runAll(undefined);
  console.log(
    `\nFigures from one shared ${cores}-core machine: indicative. "per replica" is the speed-up over the first row ` +
      'divided by the replica ratio (1.00x = linear); "machine" counts every process on it, ours or not.',
  );
  if (latency)
    table(
      `Latency-bound: RTT ${latency.rttMs} ms on every connection of the functions, ${latency.containerConcurrency} events in flight per replica at most`,
      latencyResults,
    );
  if (cpuResults.length)
    table(
      'CPU-bound: no added latency, no per-replica cap (every replica competes for the same cores)',
      cpuResults,
    );
  if (values.json) {
    writeFileSync(
      String(values.json),
      `${JSON.stringify({ cores, vips, latency, latencyBound: latencyResults, cpuBound: cpuResults }, null, 2)}\n`,
    );
    console.log(`\nresults written to ${values.json}`);
  }
  process.exit([...latencyResults, ...cpuResults].every(clean) ? 0 : 1);
}
