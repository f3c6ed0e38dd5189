// The pieces of the optimization page: trials and Top N tables, scatter, heatmaps, equity
// curves, facts. Pure functions from API data to HTML, except equitySeries (it fetches).
import { api } from '../api.js';
import {
  colorScaleLegend, esc, heatmap, legend, lineChart, PALETTE, scatterChart,
} from '../charts.js';
import { num, param, pct, when, statusBadge } from '../format.js';
import { equivalenceNote } from './robustness.js';

// The trials table's columns: the sweep's own parameters between the source and the status;
// last, the run whose backtest this trial's repeats (from the analysis, once it exists).
function trialColumns(names, equivalent) {
  return [
    { key: 'trial_index', label: '#', num: true, get: (t) => t.trial_index },
    { key: 'source', label: 'Source', get: (t) => t.source },
    ...names.map((n) => ({ key: `param:${n}`, label: n, num: true, get: (t) => t.params[n] })),
    ...RESULT_COLUMNS,
    { key: 'same_as', label: 'Same as', get: (t) => equivalent?.[String(t.run_id)] ?? null },
  ];
}

const RESULT_COLUMNS = [
  { key: 'status', label: 'Status', get: (t) => t.status },
  { key: 'cagr', label: 'CAGR', num: true, get: (t) => t.cagr },
  { key: 'max_drawdown', label: 'MaxDD', num: true, get: (t) => t.max_drawdown },
  { key: 'sharpe', label: 'Sharpe', num: true, get: (t) => t.sharpe },
  { key: 'feasible', label: 'Feasible', get: (t) => (t.feasible == null ? null : t.feasible ? 1 : 0) },
  { key: 'run_id', label: 'Run', num: true, get: (t) => t.run_id },
];

function sortTrials(trials, sort, columns) {
  const column = columns.find((c) => c.key === sort.key) ?? columns[0];
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...trials].sort((a, b) => {
    const va = column.get(a);
    const vb = column.get(b);
    if (va == null && vb == null) return a.trial_index - b.trial_index;
    if (va == null) return 1; // missing values last in either direction
    if (vb == null) return -1;
    if (va < vb) return -sign;
    if (va > vb) return sign;
    return a.trial_index - b.trial_index;
  });
}

export function trialsTable(trials, sort, names, equivalent = null) {
  const columns = trialColumns(names, equivalent);
  const rows = sortTrials(trials, sort, columns);
  return `<table class="data sortable" id="trials-table">
    <thead><tr>${columns.map((c) => {
      const state = c.key === sort.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
      const arrow = state === 'ascending' ? '▲' : state === 'descending' ? '▼' : '';
      return `<th aria-sort="${state}" class="${c.num ? 'num' : ''}"><button type="button" class="th-sort" data-sort="${c.key}">${esc(c.label)}<span class="arrow">${arrow}</span></button></th>`;
    }).join('')}</tr></thead>
    <tbody>${rows.map((t) => `
      <tr class="${t.feasible ? 'feasible' : t.feasible === false ? 'infeasible' : ''}" data-trial="${t.trial_index}">
        <td class="num">${t.trial_index}</td>
        <td><span class="source ${esc(t.source)}">${esc(t.source)}</span></td>
        ${names.map((n) => `<td class="num">${param(t.params[n])}</td>`).join('')}
        <td>${statusBadge(t.status)}${t.error ? ` <span class="muted" title="${esc(t.error)}">ⓘ</span>` : ''}</td>
        <td class="num">${pct(t.cagr)}</td>
        <td class="num">${pct(t.max_drawdown)}</td>
        <td class="num">${num(t.sharpe, 2)}</td>
        <td>${t.feasible ? '<span class="ok" title="meets the constraints">✓ feasible</span>' : t.feasible === false ? '<span class="muted">✗</span>' : ''}</td>
        <td class="num">${t.run_id ? `<a href="#/backtests/${t.run_id}">${t.run_id}</a>` : '–'}</td>
        <td class="same-as">${equivalenceNote(t.run_id, equivalent)}</td>
      </tr>`).join('')}</tbody></table>`;
}

export function drawdownLimit(spec) {
  const c = (spec?.constraints ?? []).find((x) => x.metric === 'max_drawdown' && (x.op === '<=' || x.op === '<'));
  return c ? c.value : null;
}

// The Top N; a trial whose backtest repeats an earlier one's is marked (the analysis's
// `equivalent`, or the item's own `equivalent_to` where the API gives it).
export function topTable(top, names, equivalent = null) {
  if (!top?.items?.length) return `<p class="muted">No completed trials yet.</p>`;
  const sameAs = (it) => (it.equivalent_to != null ? { [String(it.run_id)]: it.equivalent_to } : equivalent);
  return `${top.constraint_met ? '' : `<p class="warn">No trial meets the constraints yet; ranked by the smallest violation.</p>`}
    <div class="table-wrap"><table class="data" id="top-table">
    <thead><tr><th>Rank</th><th>Run</th><th>CAGR</th><th>MaxDD</th><th>Sharpe</th>
      ${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>Feasible</th><th>Same as</th></tr></thead>
    <tbody>${top.items.map((it, i) => `<tr>
      <td><span class="rank" style="--c:${PALETTE[i % PALETTE.length]}">${it.rank}</span></td>
      <td><a href="#/backtests/${it.run_id}">run ${it.run_id}</a></td>
      <td class="num strong">${pct(it.cagr)}</td><td class="num">${pct(it.max_drawdown)}</td>
      <td class="num">${num(it.sharpe, 2)}</td>
      ${names.map((n) => `<td class="num">${param(it.params[n])}</td>`).join('')}
      <td>${it.feasible ? '<span class="ok">✓</span>' : '<span class="muted">✗</span>'}</td>
      <td class="same-as">${equivalenceNote(it.run_id, sameAs(it))}</td></tr>`).join('')}
    </tbody></table></div>`;
}

export function scatterFor(trials, top, limit, size, names) {
  const topRank = new Map((top?.items ?? []).map((it) => [it.run_id, it.rank]));
  const points = trials.filter((t) => t.cagr != null && t.max_drawdown != null).map((t) => {
    const rank = topRank.get(t.run_id);
    return {
      x: t.max_drawdown,
      y: t.cagr,
      r: rank ? 7 : 5,
      shape: t.source === 'perturbation' ? 'diamond' : 'circle',
      className: `${t.feasible ? 'feasible' : 'infeasible'}${rank ? ' top' : ''} ${t.source}`,
      label: rank ? `#${rank}` : '',
      title: `trial ${t.trial_index} (${t.source}) · CAGR ${pct(t.cagr)} · MaxDD ${pct(t.max_drawdown)} · ${names.map((n) => `${n}=${param(t.params[n])}`).join(' ')}`,
    };
  });
  return scatterChart(points, {
    ...size,
    title: 'CAGR versus max drawdown',
    limitX: limit,
    limitLabel: limit != null ? `MaxDD ≤ ${pct(limit, 1)}` : '',
    xFormat: (v) => pct(v, 0),
    yFormat: (v) => pct(v, 1),
    xLabel: 'max drawdown',
    yLabel: 'CAGR',
  });
}

// The heatmaps are drawn over these three axes; the key matches a trial to a cell on the axes
// the grid actually has.
const HEATMAP_AXES = ['max_exposure', 'vol_target', 'max_weight'];

export function heatmapsFor(trials, spec, limit) {
  const grid = spec?.search?.grid ?? {};
  const cols = (grid.max_exposure ?? []).map(Number);
  const rows = (grid.vol_target ?? []).map(Number);
  const panels = (grid.max_weight ?? []).map(Number);
  if (!cols.length || !rows.length) return `<p class="muted">This sweep has no max_exposure × vol_target grid.</p>`;
  const axes = HEATMAP_AXES.filter((n) => n in grid);
  const key = (p) => axes.map((n) => Number(p[n]).toFixed(6)).join('|');
  const byPoint = new Map(trials.filter((t) => t.source === 'grid').map((t) => [key(t.params), t]));
  const cagrs = trials.filter((t) => t.source === 'grid' && t.cagr != null).map((t) => t.cagr);
  const lo = cagrs.length ? Math.min(...cagrs) : 0;
  const hi = cagrs.length ? Math.max(...cagrs) : 0;
  const panelValues = panels.length ? panels : [null];
  return `<div class="heatmaps">${panelValues.map((w) => heatmap({
    rows,
    cols,
    lo,
    hi,
    title: w == null ? 'grid' : `max_weight = ${param(w)}`,
    rowLabel: 'vol_target',
    colLabel: 'max_exposure',
    fmtRow: param,
    fmtCol: param,
    cell: (r, c) => {
      const t = byPoint.get(key({ max_exposure: c, vol_target: r, max_weight: w ?? 0 }));
      if (!t) return { text: '–', title: 'not in this sweep' };
      const dd = t.max_drawdown != null ? ` · MaxDD ${pct(t.max_drawdown)}` : '';
      return {
        value: t.cagr,
        text: t.cagr != null ? `${pct(t.cagr, 1)}${t.feasible === false ? '*' : ''}` : t.status,
        marked: t.feasible === false,
        title: `max_exposure ${param(c)}, vol_target ${param(r)}${w != null ? `, max_weight ${param(w)}` : ''}: CAGR ${pct(t.cagr)}${dd}${t.feasible === false ? ' (breaks the constraints)' : ''}`,
      };
    },
  })).join('')}</div>
  <p class="muted small">Colour: CAGR ${cagrs.length ? colorScaleLegend(lo, hi, (v) => pct(v, 1)) : ''}
    · * = breaks the drawdown limit${limit != null ? ` (${pct(limit, 1)})` : ''} · perturbation trials are not on the grid and are left out.</p>`;
}

const equityCache = new Map();

async function equityOf(runId) {
  if (!equityCache.has(runId)) {
    equityCache.set(runId, api(`/api/backtests/${runId}/equity`).then(
      (data) => ({ points: data.items }),
      (err) => {
        equityCache.delete(runId); // not ready yet: try again next time
        return { error: err };
      },
    ));
  }
  return equityCache.get(runId);
}

export async function equitySeries(sweep, top) {
  const runs = (top?.items ?? []).map((it, i) => ({ runId: it.run_id, name: `#${it.rank} run ${it.run_id} (CAGR ${pct(it.cagr, 1)})`, color: PALETTE[i % PALETTE.length] }));
  if (!runs.length) return { series: [], notes: [] };
  runs.push({ runId: sweep.baseline_run_id, name: `baseline run ${sweep.baseline_run_id}`, color: '#6b7280', dashed: true });
  const results = await Promise.all(runs.map((r) => equityOf(r.runId)));
  const series = [];
  const notes = [];
  runs.forEach((r, i) => {
    const res = results[i];
    if (res.points) series.push({ ...r, points: res.points.map((p) => ({ date: p.date, value: p.equity })) });
    else notes.push(`${r.name}: ${res.error.message}`);
  });
  return { series, notes };
}

export function equityChart({ series, notes }, size) {
  if (!series.length && !notes.length) return `<p class="muted">Equity curves appear when trials complete.</p>`;
  return `${lineChart(series, { ...size, title: 'equity of the Top runs and the baseline', yFormat: (v) => `$${Math.round(v / 1000)}k`, yLabel: 'equity' })}
    ${legend(series)}
    ${notes.length ? `<p class="muted small">${notes.map(esc).join('<br>')}</p>` : ''}`;
}

export function sweepSummary(sweep) {
  const spec = sweep.spec ?? {};
  const objective = spec.objective ?? { metric: 'cagr', direction: 'max' };
  return `<dl class="facts">
    <div><dt>Baseline run</dt><dd><a href="#/backtests/${sweep.baseline_run_id}">${sweep.baseline_run_id}</a></dd></div>
    <div><dt>Train job</dt><dd>${sweep.train_job_id}</dd></div>
    <div><dt>Project</dt><dd>${sweep.project_id}</dd></div>
    <div><dt>Window</dt><dd class="nowrap">${esc(spec.backtest_start ?? '?')} → ${esc(spec.backtest_end ?? '?')}</dd></div>
    <div><dt>Risk-off</dt><dd>${esc(spec.overrides?.risk_off_symbols ?? '(baseline’s)')}</dd></div>
    <div><dt>Objective</dt><dd>${esc(objective.direction)} ${esc(objective.metric)}</dd></div>
    <div><dt>Constraint</dt><dd>${(spec.constraints ?? []).map((c) => `${esc(c.metric)} ${esc(c.op)} ${esc(c.value)}`).join(', ') || 'none'}</dd></div>
    <div><dt>Max in flight</dt><dd>${sweep.max_inflight}</dd></div>
    <div><dt>Created</dt><dd>${esc(when(sweep.created_at))}</dd></div>
  </dl>`;
}

export function countsLine(counts) {
  return Object.entries(counts).filter(([, v]) => v > 0)
    .map(([k, v]) => `<span class="count count-${esc(k)}">${v} ${esc(k)}</span>`).join(' ');
}
