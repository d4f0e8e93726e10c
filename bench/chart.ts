// The report's charts, as plain SVG: p99 against offered rate per system (docs/benchmarks-p99.svg), and the stall
// runs' latency timeline (docs/benchmarks-stalls.svg: the highest latency of each 100 ms of deliveries).
import type { BenchResults } from './results.js';

const W = 760;
const H = 420;
const PAD = { l: 70, r: 170, t: 30, b: 55 };

const logScale = (v0: number, v1: number, p0: number, p1: number) => (v: number) =>
  p0 + ((Math.log(v) - Math.log(v0)) / (Math.log(v1) - Math.log(v0))) * (p1 - p0);

function frame(title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.l}" y="18" font-size="14">${title}</text>`,
  ];
}

/** Horizontal grid lines and labels of a log latency axis, with a dashed red line at `limit` ms. */
function latencyAxis(parts: string[], Y: (v: number) => number, y0: number, y1: number, limit: number): void {
  for (const y of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].filter((v) => v >= y0 && v <= y1)) {
    const red = y === limit;
    parts.push(
      `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${Y(y)}" y2="${Y(y)}" stroke="${red ? '#c00' : '#eee'}"${red ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${PAD.l - 8}" y="${Y(y) + 4}" text-anchor="end">${y}</text>`,
    );
  }
  parts.push(`<text x="${W - PAD.r + 8}" y="${Y(limit) + 4}" fill="#c00">${limit} ms</text>`);
}

/** p99 end-to-end latency (median of the runs) against offered rate, one line per system, log-scaled axes. */
export function p99Chart(r: BenchResults): string {
  const systems = Object.entries(r.systems).filter(([, s]) => s.steps.length > 0);
  const points = systems.flatMap(([, s]) => s.steps);
  if (points.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg"/>';
  const clamp = (y: number) => Math.max(0.5, Math.min(y, 5000));
  const xs = points.map((s) => s.offered);
  const ys = points.map((s) => clamp(s.median.e2e.p99));
  const [x0, x1] = [Math.min(...xs) / 1.2, Math.max(...xs) * 1.2];
  const [y0, y1] = [Math.min(0.5, ...ys), Math.max(100, ...ys) * 1.3];
  const X = logScale(x0, x1, PAD.l, W - PAD.r);
  const Y = logScale(y0, y1, H - PAD.b, PAD.t);
  const parts = frame('p99 end-to-end latency (ms, median of 2 runs) vs offered rate');
  latencyAxis(parts, Y, y0, y1, 50);
  for (const x of [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].filter(
    (v) => v >= x0 && v <= x1,
  ))
    parts.push(
      `<line x1="${X(x)}" x2="${X(x)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#eee"/>`,
      `<text x="${X(x)}" y="${H - PAD.b + 16}" text-anchor="middle">${x >= 1000 ? `${x / 1000}k` : x}</text>`,
    );
  parts.push(`<text x="${W / 2 - 80}" y="${H - 12}">offered messages / s (log)</text>`);
  systems.forEach(([name, s], i) => {
    const pts = s.steps.map((st) => [X(st.offered), Y(clamp(st.median.e2e.p99))] as const);
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${pts.map((p) => p.join(',')).join(' ')}"/>`,
      ...pts.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="3.5" fill="${s.color}"/>`),
      `<text x="${W - PAD.r + 8}" y="${PAD.t + 24 + i * 18}" fill="${s.color}">${name} (max ${s.maxSustained.toLocaleString('en')}/s)</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The stall runs: per 100 ms of delivery time, the highest latency delivered in it, one line per system. */
export function stallChart(r: BenchResults): string {
  const runs = Object.entries(r.stall?.systems ?? {});
  if (runs.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg"/>';
  const seconds = Math.max(...runs.map(([, x]) => (x.timeline.count.length * x.timeline.bucketMs) / 1000));
  const peak = Math.max(100, ...runs.flatMap(([, x]) => x.timeline.maxMs));
  const [y0, y1] = [0.5, peak * 1.3];
  const X = (s: number) => PAD.l + (s / seconds) * (W - PAD.l - PAD.r);
  const Y = logScale(y0, y1, H - PAD.b, PAD.t);
  const parts = frame(
    `Stall runs: highest latency per 100 ms (ms, log), ${r.stall!.windowMs / 1000} s at ${r.stall!.rate} msg/s`,
  );
  latencyAxis(parts, Y, y0, y1, 100);
  const step = seconds > 30 ? 10 : seconds > 10 ? 5 : 1;
  for (let s = 0; s <= seconds; s += step)
    parts.push(
      `<line x1="${X(s)}" x2="${X(s)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#eee"/>`,
      `<text x="${X(s)}" y="${H - PAD.b + 16}" text-anchor="middle">${s}</text>`,
    );
  parts.push(`<text x="${W / 2 - 80}" y="${H - 12}">seconds into the measured window</text>`);
  runs.forEach(([name, x], i) => {
    const color = r.systems[name]?.color ?? '#333';
    const pts = x.timeline.maxMs.map(
      (m, b) => `${X(((b + 0.5) * x.timeline.bucketMs) / 1000).toFixed(1)},${Y(Math.max(y0, m)).toFixed(1)}`,
    );
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${pts.join(' ')}"/>`,
      `<text x="${W - PAD.r + 8}" y="${PAD.t + 24 + i * 18}" fill="${color}">${name}: max ${x.e2e.max.toFixed(0)} ms, ${x.stalls.count} stall(s)</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
