#!/usr/bin/env node
// Companion of scripts/bench.sh (plain Node, no dependencies).
//
//   node scripts/bench-report.mjs record FILE key=value...   append one run to FILE as a JSON line
//   node scripts/bench-report.mjs meta FILE key=value...     write FILE as one JSON object
//   node scripts/bench-report.mjs [OUT_DIR | runs.jsonl]     print the Markdown comparison
//
// `record` takes the run's metadata as key=value pairs; `stdout=F` is regbench's --json output
// (parsed into `result`), `stderr=F` its human summary (the ERROR lines are kept), `reglog=F` the
// registry's own log (its last lines are kept when the run went wrong).
//
// The report exits 1 when any Berth run is not clean (errors, setup failure, timeout, crash),
// 2 when there is nothing to report; runs of the reference with errors are shown, never fatal.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const NUMERIC = new Set(['pass', 'exit', 'rss_peak_kib', 'rss_end_kib', 'cpu_s', 'wall_s']);
const KIND_LABEL = { reference: 'reference', berth: 'Berth' };

function parsePairs(args) {
  const out = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got ${JSON.stringify(arg)}`);
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    if (NUMERIC.has(key)) out[key] = value === '' ? null : Number(value);
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

/** Builds one run's record from the files bench.sh left behind. */
function buildRecord(pairs) {
  const { stdout, stderr, reglog, ...rec } = pairs;
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
      return { rate: 'ops_per_s', unit: 'ops/s', op: 'op push-image' };
    case 'list':
      return { rate: 'catalog_entries_per_s', unit: 'entries/s', op: 'GET catalog' };
    default:
      return { rate: null, unit: '', op: null };
  }
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

/** Sums up one kind's runs of one scenario. */
function summarize(runs, desc) {
  const s = { runs: runs.length, unsupported: runs.length > 0 && runs.every((r) => r.status === 'unsupported') };
  if (s.unsupported) return s;
  const valid = runs.filter((r) => r.status === 'ok');
  const rates = valid.map((r) => r.result?.rates?.[desc.rate]);
  s.valid = valid.length;
  s.median = median(rates);
  s.min = rates.length ? Math.min(...rates) : null;
  s.max = rates.length ? Math.max(...rates) : null;
  const lat = valid.map((r) => r.result?.latency_ms?.[desc.op]).filter(Boolean);
  s.p50 = median(lat.map((l) => l.p50));
  s.p99 = median(lat.map((l) => l.p99));
  s.errors = runs.reduce((sum, r) => sum + (r.result?.errors ?? 0), 0);
  s.problems = runs.filter((r) => r.status !== 'ok').map((r) => `p${r.pass} ${r.status}`);
  const rss = runs.map((r) => r.rss_peak_kib).filter((x) => typeof x === 'number' && x > 0);
  s.rss = median(rss);
  s.rssMin = rss.length ? Math.min(...rss) : null;
  s.rssMax = rss.length ? Math.max(...rss) : null;
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
  return cell;
}

function latencyCell(s, op) {
  if (!s || s.unsupported || s.p50 === null || !op) return '–';
  return `${fmt(s.p50)} / ${fmt(s.p99)}`;
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
  w('Figures: median over the valid passes [min–max]. Latencies: median over passes of each pass\'s p50 / p99 of the request type named, in ms. Peak RSS: VmHWM of the registry process over its whole life (start, untimed setup and timed phase), MiB. Ratio > 1 means Berth is faster.');
  w();
  w('| scenario | flags | reference | Berth | Berth/ref | latency of | ref p50 / p99 | Berth p50 / p99 | errors ref | errors Berth | peak RSS ref | peak RSS Berth |');
  w('|---|---|---|---|---|---|---|---|---|---|---|---|');

  let berthFailed = false;
  const cpuRows = [];
  const problems = [];
  const notes = [];
  for (const id of ids) {
    const mine = runs.filter((r) => r.id === id);
    const { scenario, flags } = mine[0];
    const desc = describe(scenario, flags);
    const ref = summarize(mine.filter((r) => r.kind === 'reference'), desc);
    const berth = summarize(mine.filter((r) => r.kind === 'berth'), desc);
    if (berth.runs > 0 && !berth.unsupported && berth.valid < berth.runs) berthFailed = true;
    const ratio = ref.median && berth.median ? `${(berth.median / ref.median).toFixed(2)}×` : '–';
    const refCell = ref.unsupported ? 'unsupported (single POST not implemented: answers 202)' : figureCell(ref, desc.unit);
    w(
      `| ${scenario} | \`${flags.replace(/^\S+\s*/, '')}\` | ${refCell} | ${figureCell(berth, desc.unit)} | ${ratio} | ${desc.op ?? '–'} | ` +
        `${latencyCell(ref, desc.op)} | ${latencyCell(berth, desc.op)} | ${errorsCell(ref)} | ${errorsCell(berth)} | ${rssCell(ref)} | ${rssCell(berth)} |`,
    );
    cpuRows.push(`| ${id} | ${ref.unsupported ? '–' : fmt(ref.cpu)} | ${fmt(berth.cpu)} |`);
    for (const r of mine) {
      if (r.status === 'ok' || r.status === 'unsupported') continue;
      problems.push(r);
    }
    for (const [kind, s] of [['reference', ref], ['berth', berth]]) {
      for (const n of s.notes ?? []) notes.push(`- ${id}, ${KIND_LABEL[kind]}: ${n}`);
    }
  }
  w();
  w('Registry CPU time (user + system, whole process life), median over passes, seconds:');
  w();
  w('| scenario | reference | Berth |');
  w('|---|---|---|');
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

function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === 'record') {
    const [file, ...pairs] = rest;
    const rec = buildRecord(parsePairs(pairs));
    fs.appendFileSync(file, JSON.stringify(rec) + '\n');
    const desc = describe(rec.scenario, rec.flags);
    const rate = rec.result?.rates?.[desc.rate];
    const rss = rec.rss_peak_kib ? `${fmt(rec.rss_peak_kib / 1024)} MiB` : '–';
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
  if (!cmd) {
    process.stderr.write('usage: bench-report.mjs OUT_DIR | runs.jsonl\n');
    return 2;
  }
  return report(cmd);
}

process.exitCode = main(process.argv.slice(2));
