#!/usr/bin/env node
// Companion of scripts/bench.sh, bench-scale.sh and bench-soak.sh (plain Node, no dependencies).
//
//   node scripts/bench-report.mjs record FILE key=value...   append one run to FILE as a JSON line
//   node scripts/bench-report.mjs meta FILE key=value...     write FILE as one JSON object
//   node scripts/bench-report.mjs [OUT_DIR | runs.jsonl]     print the Markdown comparison
//   node scripts/bench-report.mjs scale OUT_DIR              print bench-scale.sh's summary
//   node scripts/bench-report.mjs soak OUT_DIR               print bench-soak.sh's summary
//
// `record` takes the run's metadata as key=value pairs; `stdout=F` is regbench's --json output
// (parsed into `result`), `stderr=F` its human summary (the ERROR lines are kept), `reglog=F` the
// registry's own log (its last lines are kept when the run went wrong), `rss_csv=F` a series
// "t_s,rss_kib" of the registry's summed RSS (bench-lib.sh start_rss_sampler), summed up into
// rss_sampled_peak_kib and `rss_series`. Values of keys in NUMERIC or ending in a unit
// (_ms, _s, _kib, _mib) are stored as numbers.
//
// The report exits 1 when any Berth run is not clean (errors, setup failure, timeout, crash),
// 2 when there is nothing to report; runs of the reference with errors are shown, never fatal.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const NUMERIC = new Set(['pass', 'exit', 'run', 'repos', 'tags', 'images', 'entries', 'samples']);
const UNIT_SUFFIX = /_(ms|s|kib|mib)$/;
const KIND_LABEL = { reference: 'reference', berth: 'Berth', nginx: 'nginx' };

function parsePairs(args) {
  const out = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got ${JSON.stringify(arg)}`);
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    if (NUMERIC.has(key) || UNIT_SUFFIX.test(key)) out[key] = value === '' ? null : Number(value);
    else if (value === 'true' || value === 'false') out[key] = value === 'true';
    else out[key] = value;
  }
  return out;
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function lastLines(text, n) {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n);
}

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/**
 * Sums up a "t_s,rss_kib" series of the summed RSS of a registry's processes: the peak, the
 * value at one minute (the first sample at or after 60 s), the last value, and the slope of a
 * least-squares line over the second half of the samples in MiB per minute (growth = a leak).
 */
function rssSeries(csv) {
  const rows = readText(csv)
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number))
    .filter(([t, kib]) => Number.isFinite(t) && Number.isFinite(kib) && kib > 0);
  if (rows.length === 0) return null;
  const kibs = rows.map(([, kib]) => kib);
  const half = rows.slice(Math.floor(rows.length / 2));
  const kibPerS = slope(half.map(([t]) => t), half.map(([, kib]) => kib));
  const atMinute = rows.find(([t]) => t >= 60);
  return {
    csv,
    samples: rows.length,
    duration_s: rows[rows.length - 1][0],
    peak_kib: Math.max(...kibs),
    first_kib: kibs[0],
    at_1min_kib: atMinute ? atMinute[1] : null,
    end_kib: kibs[kibs.length - 1],
    second_half_slope_mib_per_min: kibPerS === null ? null : Number(((kibPerS * 60) / 1024).toFixed(3)),
  };
}

/** Builds one run's record from the files bench.sh left behind. */
function buildRecord(pairs) {
  const { stdout, stderr, reglog, rss_csv: rssCsv, ...rec } = pairs;
  if (rssCsv) {
    rec.rss_series = rssSeries(rssCsv);
    rec.rss_sampled_peak_kib = rec.rss_series?.peak_kib ?? null;
  }
  rec.result = null;
  if (stdout) {
    const text = readText(stdout).trim();
    if (text) {
      try {
        rec.result = JSON.parse(text);
      } catch {
        rec.stdout_unparsed = text.slice(0, 500);
      }
    }
  }
  const errText = stderr ? readText(stderr) : '';
  rec.first_errors = errText
    .split('\n')
    .filter((l) => /^(ERROR |regbench |!! )/.test(l))
    .filter((l) => !/^!! INVALID RESULT/.test(l))
    .slice(0, 8);
  if (!rec.status) {
    if (rec.timed_out) rec.status = 'timeout';
    else if (rec.result === null) rec.status = 'failed';
    else if (!rec.result.valid) rec.status = 'invalid';
    else if (rec.registry_alive === false) rec.status = 'crashed';
    else rec.status = 'ok';
  }
  if (rec.status !== 'ok' && rec.status !== 'unsupported') {
    if (rec.result === null && errText) rec.stderr_tail = lastLines(errText, 6);
    if (reglog) {
      // The reference logs every 404 of a HEAD probe at level error; those lines say nothing.
      const lines = readText(reglog)
        .split('\n')
        .filter((l) => !(l.includes('http.request.method=HEAD') && l.includes('err.code="blob unknown"')))
        .join('\n');
      rec.registry_log_tail = lastLines(lines, 8).map((l) => l.slice(0, 400));
    }
  }
  return rec;
}

// ---------------------------------------------------------------- figures

/** What a scenario is judged on: the headline rate and the request type whose latency matters. */
function describe(scenario, flags) {
  const flag = (name) => {
    const m = new RegExp(`--${name}[ =](\\S+)`).exec(flags ?? '');
    return m ? m[1] : undefined;
  };
  switch (scenario) {
    case 'push-blob': {
      const mode = flag('mode') ?? 'monolithic';
      const op = mode === 'chunked' ? 'PATCH chunk' : mode === 'post' ? 'POST blob' : 'PUT blob';
      return { rate: 'median_MB_per_s', unit: 'MB/s', op };
    }
    case 'pull-blob':
      return { rate: 'median_MB_per_s', unit: 'MB/s', op: Number(flag('range') ?? 0) > 0 ? 'GET range' : 'GET blob' };
    case 'raw-get':
      return { rate: 'median_MB_per_s', unit: 'MB/s', op: null };
    case 'push-images':
      return { rate: 'images_per_s', unit: 'images/s', op: 'op push-image' };
    case 'pull-images':
      return { rate: 'images_per_s', unit: 'images/s', op: 'op pull-image' };
    case 'manifest-get':
      return { rate: 'req_per_s', unit: 'req/s', op: /--head(?!=false)/.test(flags ?? '') ? 'HEAD manifest' : 'GET manifest' };
    case 'mixed':
      return { rate: 'ops_per_s', unit: 'ops/s', op: 'op push-image', ops: ['op push-image', 'op pull-image', 'op list-tags'] };
    case 'list':
      // Judged on the time of a complete listing (lower is better), one row each.
      return {
        rate: 'catalog_entries_per_s',
        unit: 'entries/s',
        op: 'GET catalog',
        rows: [
          { label: 'catalog', timing: 'catalog_median', op: 'GET catalog', entries: 'catalog_entries', pages: 'catalog_pages', noteOf: 'catalog ' },
          { label: 'tags/list', timing: 'tags_median', op: 'GET tags', entries: 'tag_entries', pages: 'tag_pages', noteOf: 'tags/list ' },
        ].map((row) => ({ ...row, unit: 's', lower: true, value: (r) => r.result?.timings_s?.[row.timing] })),
      };
    default:
      return { rate: null, unit: '', op: null };
  }
}

/** The table rows of a scenario: one per figure it is judged on (list: two timings). */
function rowsOf(desc) {
  return desc.rows ?? [{ label: null, unit: desc.unit, lower: false, op: desc.op, ops: desc.ops, value: (r) => r.result?.rates?.[desc.rate] }];
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function fmt(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** Sums up one kind's runs of one scenario, on one figure (row) of it. */
function summarize(runs, row) {
  const s = { runs: runs.length, unsupported: runs.length > 0 && runs.every((r) => r.status === 'unsupported') };
  if (s.unsupported) return s;
  const valid = runs.filter((r) => r.status === 'ok');
  const rates = valid.map((r) => row.value(r)).filter((x) => typeof x === 'number');
  s.valid = valid.length;
  s.median = median(rates);
  s.min = rates.length ? Math.min(...rates) : null;
  s.max = rates.length ? Math.max(...rates) : null;
  s.lat = {};
  for (const op of row.ops ?? [row.op]) {
    const lat = valid.map((r) => r.result?.latency_ms?.[op]).filter(Boolean);
    s.lat[op] = { p50: median(lat.map((l) => l.p50)), p99: median(lat.map((l) => l.p99)) };
  }
  s.p50 = s.lat[row.op]?.p50 ?? null;
  s.p99 = s.lat[row.op]?.p99 ?? null;
  if (row.entries) {
    s.entries = median(valid.map((r) => r.result?.counts?.[row.entries]));
    s.pages = median(valid.map((r) => r.result?.counts?.[row.pages]));
    // regbench notes a page larger than n ("catalog ignores n=100: ...").
    s.nIgnored = valid.some((r) => (r.result?.notes ?? []).some((n) => n.startsWith(`${row.noteOf}ignores n=`)));
  }
  s.errors = runs.reduce((sum, r) => sum + (r.result?.errors ?? 0), 0);
  s.problems = runs.filter((r) => r.status !== 'ok').map((r) => `p${r.pass} ${r.status}`);
  const rss = runs.map((r) => r.rss_peak_kib).filter((x) => typeof x === 'number' && x > 0);
  s.rss = median(rss);
  s.rssMin = rss.length ? Math.min(...rss) : null;
  s.rssMax = rss.length ? Math.max(...rss) : null;
  s.rssSampled = median(runs.map((r) => r.rss_sampled_peak_kib).filter((x) => typeof x === 'number' && x > 0));
  s.cpu = median(runs.map((r) => r.cpu_s));
  s.notes = [...new Set(runs.flatMap((r) => r.result?.notes ?? []))];
  return s;
}

function figureCell(s, unit) {
  if (!s || s.runs === 0) return 'not run';
  if (s.unsupported) return 'unsupported';
  if (s.median === null) return `no valid run (${s.problems.join(', ')})`;
  let cell = `**${fmt(s.median)}** ${unit}`;
  if (s.valid > 1) cell += ` [${fmt(s.min)}–${fmt(s.max)}]`;
  if (s.valid < s.runs) cell += ` (${s.valid} valid of ${s.runs})`;
  if (s.entries !== undefined) cell += `; ${s.entries} entries in ${s.pages} page(s), n ${s.nIgnored ? '**ignored**' : 'honoured'}`;
  return cell;
}

/** Berth against a baseline: rates as Berth/baseline, times as baseline/Berth ("× faster"). */
function ratioCell(base, berth, row) {
  if (!base?.median || !berth?.median) return '–';
  if (!row.lower) return `${(berth.median / base.median).toFixed(2)}×`;
  const x = base.median / berth.median;
  return `${x.toFixed(2)}× (time ref/Berth: Berth ${x >= 1 ? `${x.toFixed(2)}× faster` : `${(1 / x).toFixed(2)}× slower`})`;
}

function latencyCell(s, row) {
  const ops = row.ops ?? (row.op ? [row.op] : []);
  if (!s || s.unsupported || ops.length === 0) return '–';
  const cells = ops.filter((op) => s.lat?.[op]?.p50 !== null && s.lat?.[op]?.p50 !== undefined);
  if (cells.length === 0) return '–';
  if (ops.length === 1) return `${fmt(s.lat[ops[0]].p50)} / ${fmt(s.lat[ops[0]].p99)}`;
  return cells.map((op) => `${op.replace(/^op /, '')} ${fmt(s.lat[op].p50)} / ${fmt(s.lat[op].p99)}`).join('<br>');
}

function errorsCell(s) {
  if (!s || s.runs === 0) return '–';
  if (s.unsupported) return '–';
  const extra = s.problems.filter((p) => !p.endsWith(' invalid'));
  return extra.length ? `${s.errors}; ${extra.join(', ')}` : String(s.errors);
}

function rssCell(s) {
  if (!s || s.unsupported || s.rss === null) return '–';
  const mib = (kib) => kib / 1024;
  let cell = `${fmt(mib(s.rss))}`;
  if (s.runs > 1 && s.rssMax !== s.rssMin) cell += ` [${fmt(mib(s.rssMin))}–${fmt(mib(s.rssMax))}]`;
  if (s.rssSampled !== null) cell += `; sampled **${fmt(mib(s.rssSampled))}**`;
  return cell;
}

function loadRuns(arg) {
  let file = arg;
  if (fs.existsSync(arg) && fs.statSync(arg).isDirectory()) file = path.join(arg, 'runs.jsonl');
  const runs = [];
  const broken = [];
  for (const [i, line] of readText(file).split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      runs.push(JSON.parse(line));
    } catch {
      broken.push(`${file}:${i + 1}`);
    }
  }
  return { file, runs, broken };
}

function report(arg) {
  const { file, runs, broken } = loadRuns(arg);
  const metaFile = path.join(path.dirname(file), 'meta.json');
  const meta = fs.existsSync(metaFile) ? JSON.parse(readText(metaFile)) : null;
  const out = [];
  const w = (line = '') => out.push(line);

  if (runs.length === 0) {
    process.stderr.write(`bench-report: no runs in ${file}\n`);
    return 2;
  }

  // Scenarios in the order they first ran.
  const ids = [];
  for (const r of runs) if (!ids.includes(r.id)) ids.push(r.id);
  const passes = new Set(runs.map((r) => r.pass)).size;

  w('## Berth vs reference registry');
  w();
  if (meta) {
    if (meta.quick) w('**QUICK smoke run: small sizes and short durations, the figures mean nothing.**\n');
    w(`- date ${meta.date}; ${meta.cpus} cores (${meta.cpu_model}); load average at start ${meta.loadavg_start}, at end ${meta.loadavg_end ?? '?'}`);
    w(`- Berth ${meta.berth_commit} on Node ${meta.node}; reference: ${meta.reference_version}; regbench ${meta.regbench_sha256?.slice(0, 12)}`);
    w(`- storage: ${meta.storage ?? 'filesystem (a fresh directory under /tmp for each run)'}`);
    w(`- ${passes} pass(es); per pass and scenario, a fresh registry of each kind in turn (alternating which goes first), data wiped, \`sync; sleep 1\`, one regbench run with the same flags (plus \`${meta.common_flags}\`)`);
    if (meta.dist_stale) w('- **warning: dist/ was older than src/ when the run started; the figures may not be those of the current source**');
    w();
  }
  w('Figures: median over the valid passes [min–max]. Latencies: median over passes of each pass\'s p50 / p99 of the request type named, in ms. Peak RSS: the sum of each registry process\'s VmHWM over its whole life (start, untimed setup and timed phase), MiB, an upper bound of the peak of all processes together; "sampled" (mixed) is the peak of the summed VmRSS of all the registry\'s processes, sampled every ' +
    `${meta?.mixed_rss_interval_s ?? 0.2} s during the run (the issue's target: ≤ 256 MiB). Ratio > 1 means Berth is better: Berth/ref for rates, ref/Berth for times ("× faster"). ` +
    'raw-get has a second row against nginx serving the same file (target: Berth ≥ 0.8× nginx).');
  w();
  w('| scenario | flags | reference | Berth | ratio | latency of | ref p50 / p99 | Berth p50 / p99 | errors ref | errors Berth | peak RSS ref | peak RSS Berth |');
  w('|---|---|---|---|---|---|---|---|---|---|---|---|');

  let berthFailed = false;
  const cpuRows = [];
  const problems = [];
  const notes = [];
  for (const id of ids) {
    const mine = runs.filter((r) => r.id === id);
    const { scenario, flags } = mine[0];
    const desc = describe(scenario, flags);
    const hasNginx = mine.some((r) => r.kind === 'nginx');
    let ref;
    let berth;
    let nginx;
    for (const row of rowsOf(desc)) {
      ref = summarize(mine.filter((r) => r.kind === 'reference'), row);
      berth = summarize(mine.filter((r) => r.kind === 'berth'), row);
      if (berth.runs > 0 && !berth.unsupported && berth.valid < berth.runs) berthFailed = true;
      const refCell = ref.unsupported ? 'unsupported (single POST not implemented: answers 202)' : figureCell(ref, row.unit);
      const name = row.label ? `${scenario} (${row.label})` : scenario;
      const latencyOf = row.ops ? row.ops.join(', ') : (row.op ?? '–');
      w(
        `| ${name} | \`${flags.replace(/^\S+\s*/, '')}\` | ${refCell} | ${figureCell(berth, row.unit)} | ${ratioCell(ref, berth, row)} | ${latencyOf} | ` +
          `${latencyCell(ref, row)} | ${latencyCell(berth, row)} | ${errorsCell(ref)} | ${errorsCell(berth)} | ${rssCell(ref)} | ${rssCell(berth)} |`,
      );
      if (hasNginx) {
        // The same GET against nginx serving the same file: the transport ceiling.
        nginx = summarize(mine.filter((r) => r.kind === 'nginx'), row);
        w(
          `| ${name} vs nginx | same, nginx serving the same file | nginx: ${figureCell(nginx, row.unit)} | ${figureCell(berth, row.unit)} | ` +
            `${ratioCell(nginx, berth, row)} Berth/nginx | – | – | – | ${errorsCell(nginx)} | ${errorsCell(berth)} | nginx: ${rssCell(nginx)} | ${rssCell(berth)} |`,
        );
      }
    }
    cpuRows.push(`| ${id} | ${ref.unsupported ? '–' : fmt(ref.cpu)} | ${fmt(berth.cpu)} | ${hasNginx ? fmt(nginx.cpu) : '–'} |`);
    for (const r of mine) {
      if (r.status === 'ok' || r.status === 'unsupported') continue;
      problems.push(r);
    }
    for (const [kind, s] of [['reference', ref], ['berth', berth], ...(hasNginx ? [['nginx', nginx]] : [])]) {
      for (const n of s.notes ?? []) notes.push(`- ${id}, ${KIND_LABEL[kind]}: ${n}`);
    }
  }
  w();
  w('Registry CPU time (user + system, whole process life), median over passes, seconds:');
  w();
  w('| scenario | reference | Berth | nginx |');
  w('|---|---|---|---|');
  for (const row of cpuRows) w(row);

  if (problems.length) {
    w();
    w('### Runs that were not clean');
    for (const r of problems) {
      w();
      w(`- **${KIND_LABEL[r.kind] ?? r.kind}**, pass ${r.pass}, \`${r.scenario} ${r.flags.replace(/^\S+\s*/, '')}\`: ${r.status}` +
        `${r.reason ? ` (${r.reason})` : ''}${r.result ? `, ${r.result.errors} error(s)` : ''}` +
        `${r.exit === undefined ? '' : `, regbench exit ${r.exit}`}${r.registry_alive === false ? ', registry process gone' : ''}`);
      const lines = [...(r.first_errors ?? []), ...(r.stderr_tail ?? []).filter((l) => !(r.first_errors ?? []).includes(l))];
      if (lines.length) {
        w('  ```');
        for (const l of lines) w(`  ${l}`);
        w('  ```');
      }
      if (r.registry_log_tail?.length) {
        w('  registry log (last lines):');
        w('  ```');
        for (const l of r.registry_log_tail) w(`  ${l}`);
        w('  ```');
      }
    }
  }
  if (notes.length) {
    w();
    w('### Notes from regbench');
    w();
    for (const n of [...new Set(notes)]) w(n);
  }
  if (broken.length) {
    w();
    w(`Unparseable lines: ${broken.join(', ')}`);
  }
  w();
  w(berthFailed ? '**RESULT: at least one Berth run was not clean (see above).**' : 'RESULT: every Berth run was clean.');
  process.stdout.write(out.join('\n') + '\n');
  return berthFailed || broken.length ? 1 : 0;
}

const mib = (kib) => (typeof kib === 'number' ? kib / 1024 : null);

function metaLines(meta, w) {
  if (!meta) return;
  w(`- date ${meta.date}; ${meta.cpus} cores (${meta.cpu_model}); load average at start ${meta.loadavg_start}, at end ${meta.loadavg_end ?? '?'}`);
  w(`- Berth ${meta.berth_commit} on Node ${meta.node}${meta.tmp_fs ? `; /tmp: ${meta.tmp_fs}` : ''}`);
  if (meta.dist_stale) w('- **warning: dist/ was older than src/ when the run started; the figures may not be those of the current source**');
}

/**
 * What a summary (scale, soak) starts from: the runs of DIR/NAME, DIR/meta.json when there is
 * one, and the lines written so far. Undefined (after saying so) when there are no runs.
 */
function openSummary(dir, name) {
  const { file, runs, broken } = loadRuns(path.join(dir, name));
  if (runs.length === 0) {
    process.stderr.write(`bench-report: no runs in ${file}\n`);
    return undefined;
  }
  const metaFile = path.join(dir, 'meta.json');
  const meta = fs.existsSync(metaFile) ? JSON.parse(readText(metaFile)) : null;
  const out = [];
  return { runs, broken, meta, out, w: (line = '') => out.push(line) };
}

/** bench-scale.sh's summary: startup, index build and page times by store size, cost growth. */
function scaleReport(dir) {
  const report = openSummary(dir, 'scale.jsonl');
  if (!report) return 2;
  const { runs, broken, meta, out, w } = report;
  let failed = broken.length > 0;
  w('## Berth at scale (bench-scale.sh)');
  w();
  metaLines(meta, w);
  w();
  const gens = runs.filter((r) => r.phase === 'generate');
  if (gens.length) {
    w(`Stores written directly in the filesystem layout: ${gens.map((g) => (g.images ? `${g.images} images in ${fmt(g.gen_ms / 1000)} s` : `${g.repos} repositories + ${g.tags} tags in ${fmt(g.gen_ms / 1000)} s`)).join('; ')}.`);
    w();
  }
  const sizes = [...new Set(runs.filter((r) => r.phase === 'startup' || r.phase === 'page').map((r) => r.size))].sort((a, b) => a - b);
  if (sizes.length) {
    w('### Startup (spawn of `node bin/berth.js serve` to the first 200 of GET /v2/; target < 500 ms)');
    w();
    w('| repositories | starts | startup ms, median [min–max] | index ready ms (middle catalog page right), median | RSS after, MiB |');
    w('|---|---|---|---|---|');
    for (const size of sizes) {
      const st = runs.filter((r) => r.phase === 'startup' && r.size === size);
      if (st.length === 0) continue;
      const ok = st.filter((r) => typeof r.startup_ms === 'number');
      if (ok.length < st.length || st.some((r) => r.status !== 'ok')) failed = true;
      const ms = ok.map((r) => r.startup_ms);
      const verdict = median(ms) !== null && size >= 100000 ? (median(ms) < 500 ? ' (target met)' : ' (**over target**)') : '';
      w(`| ${size} | ${st.length}${ok.length < st.length ? ` (${st.length - ok.length} failed)` : ''} | **${fmt(median(ms))}** [${fmt(Math.min(...ms))}–${fmt(Math.max(...ms))}]${verdict} | ` +
        `${fmt(median(ok.map((r) => r.index_ms)))} | ${fmt(mib(median(ok.map((r) => r.rss_after_index_kib))))} |`);
    }
    w();
    const pages = runs.filter((r) => r.phase === 'page');
    if (pages.length) {
      const whats = [...new Set(pages.map((r) => r.what))];
      const [small, large] = [sizes[0], sizes[sizes.length - 1]];
      w(`### Page times (curl, median of ${meta?.page_runs ?? '?'} requests after 2 warm-ups, ms [min–max]; entries = names in the answer, n=100)`);
      w();
      w(`| page | at ${small} | at ${large} | ${large} / ${small} |`);
      w('|---|---|---|---|');
      for (const what of whats) {
        const cell = (size) => {
          const r = pages.find((p) => p.what === what && p.size === size);
          if (!r) return { text: 'not run', med: null };
          if (r.status !== 'ok') failed = true;
          return { text: `**${fmt(r.median_ms)}** [${fmt(r.min_ms)}–${fmt(r.max_ms)}], ${r.entries} entries${r.status === 'ok' ? '' : `, HTTP ${r.http_code}`}`, med: r.median_ms };
        };
        const a = cell(small);
        const b = cell(large);
        const pathOf = pages.find((p) => p.what === what && p.size === large)?.path ?? '';
        w(`| ${what} \`${pathOf}\` | ${a.text} | ${b.text} | ${a.med && b.med ? `${(b.med / a.med).toFixed(2)}×` : '–'} |`);
      }
      w();
    }
  }
  const cost = runs.filter((r) => r.phase === 'cost');
  if (cost.length) {
    w(`### Cost growth: ${meta?.fill ?? '?'} images already in the store vs an empty store (target: within 20%)`);
    w();
    w('| registry | scenario | empty store, images/s | filled store, images/s | filled / empty | p99 of op, empty / filled (ms) | errors empty / filled |');
    w('|---|---|---|---|---|---|---|');
    for (const kind of [...new Set(cost.map((r) => r.kind))]) {
      for (const scenario of [...new Set(cost.map((r) => r.scenario))]) {
        const desc = describe(scenario, '');
        const [row] = rowsOf(desc);
        const sum = (store) => summarize(cost.filter((r) => r.kind === kind && r.scenario === scenario && r.store === store), row);
        const e = sum('empty');
        const f = sum('filled');
        if (kind === 'berth' && (e.valid < e.runs || f.valid < f.runs)) failed = true;
        const ratio = e.median && f.median ? f.median / e.median : null;
        const verdict = ratio === null ? '' : ratio >= 0.8 ? '' : ' (**over 20% slower**)';
        w(`| ${KIND_LABEL[kind] ?? kind} | ${scenario} | ${figureCell(e, '')} | ${figureCell(f, '')} | ${ratio === null ? '–' : `${ratio.toFixed(2)}×${verdict}`} | ` +
          `${fmt(e.p99)} / ${fmt(f.p99)} | ${errorsCell(e)} / ${errorsCell(f)} |`);
      }
    }
    w();
    w(`Flags: \`${meta?.cost_flags ?? ''}\`; a fresh registry per run, over an empty directory or a copy of the filled one.`);
    w();
  }
  if (broken.length) w(`Unparseable lines: ${broken.join(', ')}\n`);
  w(failed ? '**RESULT: at least one measurement failed (see the JSON lines and logs).**' : 'RESULT: every measurement ran.');
  process.stdout.write(out.join('\n') + '\n');
  return failed ? 1 : 0;
}

/** bench-soak.sh's summary: memory over a long mixed run. */
function soakReport(dir) {
  const report = openSummary(dir, 'soak.jsonl');
  if (!report) return 2;
  const { runs, meta, out, w } = report;
  const r = runs[runs.length - 1];
  const s = r.rss_series;
  w('## Berth soak (bench-soak.sh)');
  w();
  metaLines(meta, w);
  w(`- \`regbench ${r.flags}\`; summed RSS of all Berth processes sampled every ${meta?.interval_s ?? '?'} s (${s?.samples ?? 0} samples)`);
  w();
  const base = s?.at_1min_kib ?? null;
  const growth = base && s ? s.end_kib / base - 1 : null;
  const grew = growth !== null && growth > 0.1;
  w('| status | ops/s | errors | peak RSS MiB (target ≤ 256) | RSS at 1 min | RSS at end | end vs 1 min | slope, second half (MiB/min) | VmHWM sum MiB | CPU s |');
  w('|---|---|---|---|---|---|---|---|---|---|');
  w(`| ${r.status} | ${fmt(r.result?.rates?.ops_per_s)} | ${r.result?.errors ?? '–'} | **${fmt(mib(s?.peak_kib))}**${s && mib(s.peak_kib) > 256 ? ' (over)' : ''} | ` +
    `${base === null ? '– (run under 1 min)' : fmt(mib(base))} | ${fmt(mib(s?.end_kib))} | ${growth === null ? '–' : `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%${grew ? ' (**growth**)' : ''}`} | ` +
    `${fmt(s?.second_half_slope_mib_per_min)} | ${fmt(mib(r.rss_peak_kib))} | ${fmt(r.cpu_s)} |`);
  w();
  const lat = r.result?.latency_ms ?? {};
  const ops = ['op push-image', 'op pull-image', 'op list-tags'].filter((op) => lat[op]);
  if (ops.length) w(`Latency p50 / p99 (ms): ${ops.map((op) => `${op.replace(/^op /, '')} ${fmt(lat[op].p50)} / ${fmt(lat[op].p99)}`).join('; ')}.`);
  if (r.first_errors?.length) {
    w();
    w('```');
    for (const l of r.first_errors) w(l);
    w('```');
  }
  w();
  w(`"No growth" = the end RSS within 10% of the RSS at 1 min. Series: \`${s?.csv ?? '–'}\`.`);
  w();
  const bad = r.status !== 'ok' || grew;
  w(bad ? '**RESULT: the soak run was not clean or memory grew.**' : 'RESULT: clean run' + (growth === null ? ' (too short to judge growth).' : ', no growth.'));
  process.stdout.write(out.join('\n') + '\n');
  return bad ? 1 : 0;
}

function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === 'record') {
    const [file, ...pairs] = rest;
    const rec = buildRecord(parsePairs(pairs));
    fs.appendFileSync(file, JSON.stringify(rec) + '\n');
    const desc = describe(rec.scenario, rec.flags);
    const rate = rec.result?.rates?.[desc.rate];
    let rss = rec.rss_peak_kib ? `${fmt(rec.rss_peak_kib / 1024)} MiB` : '–';
    if (rec.rss_sampled_peak_kib) rss += ` (sampled ${fmt(rec.rss_sampled_peak_kib / 1024)} MiB)`;
    process.stderr.write(
      `   ${rec.status.padEnd(11)} ${rate === undefined ? '' : `${fmt(rate)} ${desc.unit}, `}` +
        `errors ${rec.result?.errors ?? '–'}, peak RSS ${rss}, registry CPU ${fmt(rec.cpu_s)} s, wall ${fmt(rec.wall_s)} s\n`,
    );
    for (const l of rec.first_errors) process.stderr.write(`     ${l}\n`);
    return 0;
  }
  if (cmd === 'meta') {
    const [file, ...pairs] = rest;
    const extra = parsePairs(pairs);
    const previous = fs.existsSync(file) ? JSON.parse(readText(file)) : {};
    fs.writeFileSync(file, JSON.stringify({ ...previous, ...extra }, null, 2) + '\n');
    return 0;
  }
  if (cmd === 'scale') return scaleReport(rest[0]);
  if (cmd === 'soak') return soakReport(rest[0]);
  if (!cmd) {
    process.stderr.write('usage: bench-report.mjs OUT_DIR | runs.jsonl | scale OUT_DIR | soak OUT_DIR\n');
    return 2;
  }
  return report(cmd);
}

process.exitCode = main(process.argv.slice(2));
