// A time-series chart as hand-written SVG, no dependency: stacked panels sharing the time axis,
// each with its own y scale and one or more lines, and shaded bands (e.g. load steps). The
// autoscaler demo draws its run with it (docs/img/autoscale.svg).

export interface Series {
  name: string;
  color: string;
  /** [seconds, value] points, in time order. */
  points: readonly (readonly [number, number])[];
  /** Drawn as steps (a count that jumps) rather than slopes. */
  step?: boolean;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
  /** Height in px (default 150). */
  height?: number;
}

export interface Chart {
  title: string;
  /** Lines under the title. */
  subtitle?: string | string[];
  panels: Panel[];
  /** Light vertical bands with a label, e.g. the offered load's phases. */
  bands?: { from: number; to: number; label: string }[];
  width?: number;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** 1, 2 or 5 times a power of ten: a round tick step giving about `count` ticks over `max`. */
export function niceStep(max: number, count = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

export function renderChart(c: Chart): string {
  const width = c.width ?? 900;
  const left = 70;
  const right = 170; // the legend
  const subtitle = c.subtitle === undefined ? [] : [c.subtitle].flat();
  // Title, subtitle lines, then room for the band labels above the first panel.
  const top = 30 + subtitle.length * 16 + (c.bands?.length ? 22 : 8);
  const gap = 34;
  const plotW = width - left - right;
  const all = c.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t)));
  const tMax = Math.max(1, ...all, ...(c.bands ?? []).map((b) => b.to));
  const x = (t: number) => left + (t / tMax) * plotW;
  const heights = c.panels.map((p) => p.height ?? 150);
  const height = top + heights.reduce((a, b) => a + b + gap, 0) + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    // The chart's name for screen readers (and for linters that ask for one).
    `<title>${esc(c.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="16" font-weight="bold" fill="#222">${esc(c.title)}</text>`,
  ];
  for (const [i, line] of subtitle.entries())
    out.push(`<text x="${left}" y="${42 + i * 16}" fill="#555">${esc(line)}</text>`);
  let y0 = top;
  c.panels.forEach((panel, pi) => {
    const h = heights[pi]!;
    const vMax = Math.max(1e-9, ...panel.series.flatMap((s) => s.points.map(([, v]) => v)));
    const step = niceStep(vMax);
    const top2 = Math.ceil(vMax / step) * step;
    const y = (v: number) => y0 + h - (v / top2) * h;
    out.push(`<g class="panel" data-title="${esc(panel.title)}">`);
    for (const b of c.bands ?? []) {
      out.push(
        `<rect x="${x(b.from).toFixed(1)}" y="${y0}" width="${(x(b.to) - x(b.from)).toFixed(1)}" height="${h}" fill="${
          (c.bands ?? []).indexOf(b) % 2 ? '#f3f6fa' : '#e8eef5'
        }"/>`,
      );
      if (pi === 0)
        out.push(
          `<text x="${((x(b.from) + x(b.to)) / 2).toFixed(1)}" y="${y0 - 4}" text-anchor="middle" fill="#667">${esc(b.label)}</text>`,
        );
    }
    for (let v = 0; v <= top2 + step / 2; v += step) {
      out.push(
        `<line x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#d0d4da" stroke-width="0.6"/>`,
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(v)}</text>`,
      );
    }
    out.push(
      `<text x="14" y="${y0 + h / 2}" transform="rotate(-90 14 ${y0 + h / 2})" text-anchor="middle" fill="#333">${esc(panel.unit)}</text>`,
      `<text x="${left + 4}" y="${y0 + 14}" font-weight="bold" fill="#333">${esc(panel.title)}</text>`,
      `<rect x="${left}" y="${y0}" width="${plotW}" height="${h}" fill="none" stroke="#888" stroke-width="0.8"/>`,
    );
    panel.series.forEach((s, si) => {
      if (s.points.length > 0) {
        const pts: string[] = [];
        s.points.forEach(([t, v], i) => {
          if (s.step && i > 0) pts.push(`${x(t).toFixed(1)},${y(s.points[i - 1]![1]).toFixed(1)}`);
          pts.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
        });
        out.push(
          `<polyline class="series" data-name="${esc(s.name)}" fill="none" stroke="${s.color}" stroke-width="2"${
            s.dashed ? ' stroke-dasharray="6 4"' : ''
          } points="${pts.join(' ')}"/>`,
        );
      }
      const ly = y0 + 14 + si * 18;
      out.push(
        `<line x1="${left + plotW + 12}" x2="${left + plotW + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${
          s.dashed ? ' stroke-dasharray="6 4"' : ''
        }/>`,
        `<text x="${left + plotW + 40}" y="${ly}" fill="#333">${esc(s.name)}</text>`,
      );
    });
    out.push('</g>');
    y0 += h + gap;
  });
  // The shared time axis under the last panel.
  const axisY = y0 - gap;
  const tStep = niceStep(tMax, 8);
  for (let t = 0; t <= tMax + 1e-9; t += tStep)
    out.push(
      `<text x="${x(t).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${fmt(t)}</text>`,
    );
  out.push(
    `<text x="${left + plotW / 2}" y="${axisY + 32}" text-anchor="middle" fill="#333">seconds</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
