// `npm run demo:scale [-- --vips N --replicas 1,2,4 --aap-every 10]`: the horizontal-scaling demo.
// For each replica count it starts a fresh stack, creates N Vips through the API server, waits for
// all of them to be Ready, and prints throughput, event -> Ready latency, CPU per Vip and the audit
// verdict. `npm run` runs it compiled (dist/), and the stack then runs the functions and the relay
// compiled too, as deployed.
import { parseArgs } from 'node:util';
import { runScale, type ScaleResult } from './scale.ts';

const { values } = parseArgs({
  options: {
    vips: { type: 'string', default: '5000' },
    replicas: { type: 'string', default: '1,2,4' },
    'aap-every': { type: 'string', default: '10' },
  },
});
const vips = Number(values.vips);
const replicaCounts = values.replicas.split(',').map(Number);
const results: ScaleResult[] = [];
for (const replicas of replicaCounts) {
  console.log(
    `\n${replicas} replica(s): creating ${vips} Vips (one in ${values['aap-every']} AAP with a parent pod)`,
  );
  const r = await runScale({
    replicas,
    vips,
    aapEvery: Number(values['aap-every']),
    progress: console.log,
  });
  console.log(
    `  done: ${r.vipsPerSecond.toFixed(0)} Vips/s, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms`,
  );
  results.push(r);
}
console.log(
  '\nreplicas  Vips   seconds  Vips/s  p50 ms  p99 ms  CPU ms/Vip  duplicates  leaked  orphan rows  audit',
);
for (const r of results) {
  const clean = r.duplicates + r.leaked + r.orphanRows + r.violations === 0;
  console.log(
    [
      String(r.replicas).padStart(8),
      String(r.vips).padStart(5),
      r.seconds.toFixed(1).padStart(8),
      r.vipsPerSecond.toFixed(0).padStart(6),
      r.p50.toFixed(0).padStart(6),
      r.p99.toFixed(0).padStart(6),
      Object.values(r.cpuMsPerVip)
        .reduce((a, b) => a + b, 0)
        .toFixed(2)
        .padStart(10),
      String(r.duplicates).padStart(10),
      String(r.leaked).padStart(6),
      String(r.orphanRows).padStart(11),
      clean ? '  clean' : `  ${r.violations} violations`,
    ].join('  '),
  );
}
process.exit(results.every((r) => r.duplicates + r.leaked + r.orphanRows + r.violations === 0) ? 0 : 1);
