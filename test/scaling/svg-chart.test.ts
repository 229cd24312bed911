// The chart writer of the autoscaler demo: well-formed XML (checked by a real parser, Python's
// minidom), every series drawn with its points, text escaped.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { niceStep, renderChart } from '../../bench/svg-chart.ts';

/** Parses with Python's XML parser; returns the polylines' names and point counts. */
function parse(svg: string): { name: string; points: number }[] {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `import sys, json, xml.dom.minidom as m
d = m.parseString(sys.stdin.read())
assert d.documentElement.tagName == "svg"
print(json.dumps([{"name": p.getAttribute("data-name"), "points": len(p.getAttribute("points").split())} for p in d.getElementsByTagName("polyline")]))`,
    ],
    { input: svg, encoding: 'utf8' },
  );
  return JSON.parse(out);
}

describe('SVG chart', () => {
  const chart = renderChart({
    title: 'Autoscaler <demo> & "quotes"',
    subtitle: 'offered load steps',
    bands: [
      { from: 0, to: 10, label: '50/s' },
      { from: 10, to: 20, label: '300/s' },
    ],
    panels: [
      {
        title: 'Vips/s',
        unit: 'Vips/s',
        series: [
          {
            name: 'offered',
            color: '#888',
            points: [
              [0, 50],
              [10, 300],
              [20, 300],
            ],
            step: true,
            dashed: true,
          },
          {
            name: 'completed',
            color: '#1f77b4',
            points: [
              [1, 40],
              [2, 55],
              [11, 250],
              [19, 290],
            ],
          },
        ],
      },
      {
        title: 'replicas',
        unit: 'replicas',
        series: [
          {
            name: 'replicas',
            color: '#d62728',
            points: [
              [0, 1],
              [12, 3],
            ],
            step: true,
          },
        ],
      },
      { title: 'p99', unit: 'ms', series: [{ name: 'p99 event -> Ready', color: '#2ca02c', points: [] }] },
    ],
  });

  it('is well-formed XML with every series present, steps doubling their points', () => {
    const lines = parse(chart);
    expect(lines).toEqual([
      { name: 'offered', points: 5 },
      { name: 'completed', points: 4 },
      { name: 'replicas', points: 3 },
    ]);
    // An empty series has its legend entry still.
    expect(chart).toContain('p99 event -&gt; Ready');
    expect(chart).toContain('Autoscaler &lt;demo&gt; &amp; &quot;quotes&quot;');
  });

  it('picks round tick steps', () => {
    expect(niceStep(1000)).toBe(500);
    expect(niceStep(37)).toBe(10);
    expect(niceStep(8)).toBe(2);
    expect(niceStep(0)).toBe(1);
  });
});
