import type { BenchResult, LatencyStats } from './bench-result.js';
import { histogramChart, timeChart } from './svg-charts.js';
import { formatSize, humanDuration, humanSize } from '../units.js';

/**
 * `--report FILE`: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched)
 * that shows a run at a glance: parameters, headline rates, the per-request table, a latency
 * histogram per request type, and throughput and errors over time.
 */
export function htmlReport(result: BenchResult): string {
  const { rates } = result;
  const cards = [
    card('requests/s', num(rates.requests_per_s)),
    card('operations/s', num(rates.ops_per_s)),
    ...(rates.images_per_s > 0 ? [card('images/s', num(rates.images_per_s))] : []),
    card('MB/s', num(rates.MB_per_s)),
    card('timed phase', humanDuration(result.seconds * 1000)),
    card('errors', String(result.errors.count), result.errors.count > 0 ? 'bad' : 'good'),
  ].join('');
  // The last second is cut short by the end of the run (and holds only the requests still in
  // flight): drawn as is it would look like a collapse, so the charts leave it out.
  const seconds = result.timeSeries.length > 1 && result.seconds < result.timeSeries.length ? result.timeSeries.slice(0, -1) : result.timeSeries;
  const perSecond = (pick: (s: (typeof seconds)[number]) => number) => seconds.map(pick);
  const throughput = timeChart('throughput', [{ label: 'requests/s', color: '#2563eb', values: perSecond((s) => s.requests) }], 'requests/s');
  const bandwidth = result.bytes > 0 ? timeChart('bandwidth', [{ label: 'MB/s', color: '#0d9488', values: perSecond((s) => s.bytes / 1e6) }], 'MB/s') : '';
  const errors = timeChart('errors', [{ label: 'errors', color: '#dc2626', values: seconds.map((s) => s.errors), bars: true }], 'errors');
  const palette = ['#2563eb', '#7c3aed', '#0d9488', '#d97706', '#db2777', '#4f46e5', '#059669', '#b45309', '#0891b2', '#9333ea'];
  const histograms = Object.entries(result.histograms)
    .map(([type, bins], i) => {
      const stats = result.requests[type];
      const markers = stats && stats.count > 0 ? [{ label: 'p50', value: stats.p50 }, { label: 'p99', value: stats.p99 }] : [];
      return `<figure class="chart"><figcaption>${esc(type)} <span class="muted">${stats?.count ?? 0} requests</span></figcaption>${histogramChart(bins, markers, palette[i % palette.length]!)}</figure>`;
    })
    .join('');
  const title = `berth bench ${result.scenario} — ${result.registry}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}</style>
</head>
<body>
<header>
  <h1>${esc(result.scenario)} <span class="muted">against</span> ${esc(result.registry)}</h1>
  <p class="muted">Started ${esc(result.startedAt)} · ${result.seconds.toFixed(2)} s timed · setup ${result.setupSeconds.toFixed(2)} s · ${result.valid ? '<span class="badge good">valid</span>' : '<span class="badge bad">INVALID: errors happened</span>'}</p>
</header>
<section class="cards">${cards}</section>
${result.errors.count > 0 ? `<section class="errors"><h2>Errors (${result.errors.count})</h2><ul>${result.errors.first.map((m) => `<li><code>${esc(m)}</code></li>`).join('')}</ul>${result.errors.count > result.errors.first.length ? `<p class="muted">${result.errors.count - result.errors.first.length} more not shown</p>` : ''}</section>` : ''}
<section>
  <h2>Requests</h2>
  ${latencyTable(result.requests, 'request type')}
  ${Object.keys(result.operations).length > 0 ? `<h3>Whole operations</h3>${latencyTable(result.operations, 'operation')}` : ''}
</section>
<section>
  <h2>Throughput over time</h2>
  <p class="muted">Per second of the timed phase (a last, partial second is left out).</p>
  <div class="grid2">
    <figure class="chart"><figcaption>Requests per second</figcaption>${throughput}</figure>
    ${bandwidth ? `<figure class="chart"><figcaption>Payload MB per second</figcaption>${bandwidth}</figure>` : ''}
    <figure class="chart"><figcaption>Errors per second</figcaption>${errors}</figure>
  </div>
</section>
<section>
  <h2>Latency histograms</h2>
  <p class="muted">Successful requests of each type by latency (logarithmic axis); dashed lines mark p50 and p99.</p>
  <div class="grid2">${histograms}</div>
</section>
<section class="two-col">
  <div><h2>Parameters</h2>${keyValues(paramRows(result))}</div>
  <div><h2>Counts</h2>${keyValues(Object.entries(result.counts).map(([k, v]) => [k, String(v)]))}${result.notes.length > 0 ? `<h3>Notes</h3><ul>${result.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}</div>
</section>
<footer class="muted">Latencies in milliseconds, measured by the client from sending the request to reading the last byte of the answer. MB = 10<sup>6</sup> bytes. ${esc(humanSize(result.bytes))} of payload moved.</footer>
</body>
</html>
`;
}

function paramRows(result: BenchResult): [string, string][] {
  const p = result.params;
  const rows: [string, string][] = [
    ['scenario', p.scenario],
    ['registry', result.registry],
    ['prefix', p.prefix],
    ['concurrency', String(p.concurrency)],
  ];
  if (p.count !== null) rows.push(['count', String(p.count)]);
  if (p.durationMs !== null) rows.push(['duration', humanDuration(p.durationMs)]);
  if (['push-images', 'pull-images', 'mixed'].includes(p.scenario)) {
    rows.push(['layers', String(p.layers)], ['layer size', formatSize(p.size)], ['shared base layers', String(p.sharedBase)]);
  }
  if (p.scenario === 'manifest-get') rows.push(['method', p.head ? 'HEAD' : 'GET']);
  if (p.scenario === 'list') rows.push(['repositories', String(p.repos)], ['tags', String(p.tags)], ['page size (n)', String(p.page)]);
  if (p.scenario === 'mixed') rows.push(['mix', Object.entries(p.mix).map(([k, v]) => `${k}=${v}`).join(', ')]);
  if (p.scenario === 'push-blob') {
    rows.push(['blob size', formatSize(p.size)], ['mode', p.mode]);
    if (p.mode === 'chunked') rows.push(['chunk', formatSize(p.chunk)]);
  }
  return rows;
}

function latencyTable(rows: Record<string, LatencyStats>, first: string): string {
  const body = Object.entries(rows)
    .map(
      ([name, s]) =>
        `<tr><th scope="row">${esc(name)}</th><td>${s.count}</td><td class="${s.errors > 0 ? 'bad-text' : ''}">${s.errors}</td><td>${ms(s.p50)}</td><td>${ms(s.p90)}</td><td>${ms(s.p99)}</td><td>${ms(s.max)}</td><td>${ms(s.mean)}</td></tr>`,
    )
    .join('');
  return `<table class="stats"><thead><tr><th>${first}</th><th>count</th><th>errors</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>mean ms</th></tr></thead><tbody>${body || '<tr><td colspan="8" class="muted">none</td></tr>'}</tbody></table>`;
}

function keyValues(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

function card(label: string, value: string, tone = ''): string {
  return `<div class="card ${tone}"><div class="value">${esc(value)}</div><div class="label">${esc(label)}</div></div>`;
}

function num(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}

function ms(value: number): string {
  return value.toFixed(value >= 100 ? 1 : 2);
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const css = `
:root { --fg: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --good: #059669; --bad: #dc2626; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 24px 32px 48px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; } h3 { font-size: 14px; margin: 18px 0 8px; }
.muted { color: var(--muted); font-weight: normal; }
.badge { padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
.badge.good { background: var(--good); } .badge.bad { background: var(--bad); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px; min-width: 140px; }
.card .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.bad .value { color: var(--bad); } .card.good .value { color: var(--good); }
.errors { background: #fef2f2; border: 1px solid #fecaca; border-radius: 8px; padding: 4px 16px 8px; margin-top: 16px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
table.stats { width: 100%; }
th, td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: right; font-variant-numeric: tabular-nums; }
th[scope=row], thead th:first-child, .kv th { text-align: left; }
thead th { background: #f1f5f9; font-weight: 600; font-size: 12px; }
.kv td { text-align: left; }
.bad-text { color: var(--bad); font-weight: 600; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.two-col { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 4px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg .grid { stroke: #eef2f7; } svg .axis { stroke: #94a3b8; }
svg .tick { fill: var(--muted); font-size: 11px; } svg .title { fill: var(--muted); font-size: 11px; }
svg .marker { stroke: #0f172a; stroke-dasharray: 4 3; stroke-width: 1; } svg .marker-label { font-size: 11px; fill: #0f172a; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg .empty { fill: var(--muted); font-size: 13px; }
footer { margin-top: 32px; font-size: 12px; }
`;
