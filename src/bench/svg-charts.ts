import type { HistogramBin } from './latency-histogram.js';

/**
 * Charts as inline SVG strings: the report must open anywhere, offline, with no script, so the
 * drawing is done here rather than in the browser. Every chart has a `data-chart` attribute
 * naming its kind, and draws its data as `rect` or `path` elements with class `data`.
 */

const width = 640;
const height = 220;
const margin = { top: 16, right: 16, bottom: 36, left: 56 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

export interface Marker {
  label: string;
  value: number;
}

/**
 * A latency histogram: bars over a logarithmic millisecond axis (latencies spread over orders of
 * magnitude), with dashed markers (p50, p99).
 */
export function histogramChart(bins: readonly HistogramBin[], markers: readonly Marker[], color: string): string {
  if (bins.length === 0) return empty('histogram', 'no successful requests');
  const low = Math.log10(Math.max(bins[0]!.fromMs, 0.001));
  const high = Math.max(Math.log10(bins[bins.length - 1]!.toMs), low + 0.3);
  const x = (ms: number) => margin.left + ((Math.log10(Math.max(ms, 0.001)) - low) / (high - low)) * plotWidth;
  const top = niceCeil(Math.max(...bins.map((bin) => bin.count)));
  const y = (count: number) => margin.top + plotHeight - (count / top) * plotHeight;
  const bars = bins
    .map((bin) => {
      const left = x(bin.fromMs);
      const barWidth = Math.max(1, x(bin.toMs) - left - 1);
      return `<rect class="data" x="${f(left)}" y="${f(y(bin.count))}" width="${f(barWidth)}" height="${f(margin.top + plotHeight - y(bin.count))}" fill="${color}"><title>${f(bin.fromMs, 3)}–${f(bin.toMs, 3)} ms: ${bin.count}</title></rect>`;
    })
    .join('');
  const ticks = logTicks(10 ** low, 10 ** high).map((ms) => xTick(x(ms), String(Number(ms.toPrecision(3)))));
  const marks = markers
    .map(
      (marker, i) =>
        `<line x1="${f(x(marker.value))}" x2="${f(x(marker.value))}" y1="${margin.top}" y2="${margin.top + plotHeight}" class="marker"/>` +
        // Near the right edge the label goes on the left of its line, so it is not cut off.
        (x(marker.value) > width - margin.right - 90
          ? `<text x="${f(x(marker.value) - 4)}" y="${margin.top + 12 + i * 14}" text-anchor="end" class="marker-label">${marker.label} ${formatMs(marker.value)} ms</text>`
          : `<text x="${f(x(marker.value) + 4)}" y="${margin.top + 12 + i * 14}" class="marker-label">${marker.label} ${formatMs(marker.value)} ms</text>`),
    )
    .join('');
  return svg('histogram', `${grid(top, y)}${bars}${ticks.join('')}${marks}${axisTitle('latency (ms, log scale)', 'requests')}`);
}

export interface Series {
  label: string;
  color: string;
  /** One value per x step. */
  values: readonly number[];
  /** Bars instead of a line (counts such as errors). */
  bars?: boolean;
}

/** Values over time: one x step per second, lines (with a light fill) or bars. */
export function timeChart(kind: string, series: readonly Series[], unit: string): string {
  const steps = Math.max(...series.map((s) => s.values.length), 0);
  if (steps === 0) return empty(kind, 'no data');
  const top = niceCeil(Math.max(1, ...series.flatMap((s) => s.values)));
  const step = plotWidth / Math.max(1, steps);
  const x = (i: number) => margin.left + (i + 0.5) * step;
  const y = (value: number) => margin.top + plotHeight - (value / top) * plotHeight;
  const drawn = series
    .map((s) => {
      if (s.bars) {
        return s.values
          .map((v, i) => `<rect class="data" x="${f(x(i) - step * 0.35)}" y="${f(y(v))}" width="${f(Math.max(1, step * 0.7))}" height="${f(margin.top + plotHeight - y(v))}" fill="${s.color}"><title>${i} s: ${f(v, 2)} ${unit}</title></rect>`)
          .join('');
      }
      const points = s.values.map((v, i) => `${f(x(i))},${f(y(v))}`);
      const line = `M${points.join(' L')}`;
      const area = `${line} L${f(x(s.values.length - 1))},${margin.top + plotHeight} L${f(x(0))},${margin.top + plotHeight} Z`;
      const dots = s.values.length <= 60 ? s.values.map((v, i) => `<circle cx="${f(x(i))}" cy="${f(y(v))}" r="2.5" fill="${s.color}"><title>${i} s: ${f(v, 2)} ${unit}</title></circle>`).join('') : '';
      return `<path d="${area}" fill="${s.color}" fill-opacity="0.12" stroke="none"/><path class="data" d="${line}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    })
    .join('');
  const every = Math.max(1, Math.ceil(steps / 10));
  const ticks = Array.from({ length: steps }, (_, i) => i)
    .filter((i) => i % every === 0)
    .map((i) => xTick(x(i), `${i}s`));
  return svg(kind, `${grid(top, y)}${drawn}${ticks.join('')}${axisTitle('time since the clock started (s)', unit)}`);
}

function svg(kind: string, body: string): string {
  return `<svg data-chart="${kind}" viewBox="0 0 ${width} ${height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function empty(kind: string, text: string): string {
  return svg(kind, `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">${text}</text>`);
}

/** Horizontal grid lines with their values on the left axis. */
function grid(top: number, y: (value: number) => number): string {
  return [0, 0.25, 0.5, 0.75, 1]
    .map((share) => {
      const value = top * share;
      return `<line x1="${margin.left}" x2="${width - margin.right}" y1="${f(y(value))}" y2="${f(y(value))}" class="grid"/><text x="${margin.left - 6}" y="${f(y(value) + 4)}" text-anchor="end" class="tick">${compact(value)}</text>`;
    })
    .join('');
}

function xTick(x: number, label: string): string {
  const base = margin.top + plotHeight;
  return `<line x1="${f(x)}" x2="${f(x)}" y1="${base}" y2="${base + 4}" class="axis"/><text x="${f(x)}" y="${base + 16}" text-anchor="middle" class="tick">${label}</text>`;
}

function axisTitle(xTitle: string, yTitle: string): string {
  return (
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" class="axis"/>` +
    `<text x="${margin.left + plotWidth / 2}" y="${height - 4}" text-anchor="middle" class="title">${xTitle}</text>` +
    `<text x="12" y="${margin.top + plotHeight / 2}" text-anchor="middle" class="title" transform="rotate(-90 12 ${margin.top + plotHeight / 2})">${yTitle}</text>`
  );
}

/** 1, 2, 5 × powers of ten between low and high (a few per decade, fewer when wide). */
function logTicks(low: number, high: number): number[] {
  const decades = Math.log10(high / low);
  const steps = decades > 3 ? [1] : decades > 1.2 ? [1, 3] : [1, 2, 5];
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(low)); power <= Math.ceil(Math.log10(high)); power++) {
    for (const s of steps) {
      const value = s * 10 ** power;
      if (value >= low && value <= high) ticks.push(value);
    }
  }
  return ticks;
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above value: round grid lines. */
function niceCeil(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 4, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toPrecision(2);
}

function compact(value: number): string {
  if (value >= 1e6) return `${f(value / 1e6, 1)}M`;
  if (value >= 1e4) return `${f(value / 1e3, 0)}k`;
  if (value >= 1e3) return `${f(value / 1e3, 1)}k`;
  return value >= 100 || Number.isInteger(value) ? f(value, 0) : f(value, value >= 10 ? 1 : 2);
}

function f(value: number, digits = 1): string {
  return String(Number(value.toFixed(digits)));
}
