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
// `sort` names the server's sort key (GET …/trials?sort=): only those columns sort, since
// the table shows one page of the sweep and the server orders the whole of it.
function trialColumns(names) {
  return [
    { key: 'trial_index', label: '#', num: true, sort: true },
    { key: 'source', label: 'Source' },
    ...names.map((n) => ({ key: `param:${n}`, label: n, num: true })),
    ...RESULT_COLUMNS,
    { key: 'same_as', label: 'Same as' },
  ];
}

const RESULT_COLUMNS = [
  { key: 'status', label: 'Status' },
  { key: 'cagr', label: 'CAGR', num: true, sort: true },
  { key: 'max_drawdown', label: 'MaxDD', num: true, sort: true },
  { key: 'sharpe', label: 'Sharpe', num: true, sort: true },
  { key: 'feasible', label: 'Feasible' },
  { key: 'run_id', label: 'Run', num: true },
];

// The first sort direction of a column: the best first for the returns, else ascending.
export const firstDirection = (key) => (['cagr', 'sharpe'].includes(key) ? 'desc' : 'asc');

// One page of trials, in the order the server sorted them (`sort`: {key, dir}).
export function trialsTable(trials, sort, names, equivalent = null) {
  const columns = trialColumns(names);
  const rows = trials;
  return `<table class="data sortable" id="trials-table">
    <thead><tr>${columns.map((c) => {
      if (!c.sort) return `<th class="${c.num ? 'num' : ''}">${esc(c.label)}</th>`;
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

// "101–200 of 10,000" with previous / next buttons; nothing when one page holds them all.
export function trialsPager(offset, shown, total, pageSize) {
  if (total <= pageSize && offset === 0) return '';
  const range = shown ? `${offset + 1}–${offset + shown}` : '0';
  return `<div class="pager" id="trials-pager">
    <button type="button" data-page="prev"${offset === 0 ? ' disabled' : ''}>← Previous</button>
    <span id="trials-range">${range} of ${total.toLocaleString('en-US')}</span>
    <button type="button" data-page="next"${offset + pageSize >= total ? ' disabled' : ''}>Next →</button></div>`;
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

// The scatter from GET …/scatter: at most a bounded number of points (the Top 3, the
// Pareto front and a fixed sample of the rest), each with its rank if it is in the Top.
export function scatterFor(scatter, limit, size, names) {
  const points = (scatter?.points ?? []).map((t) => ({
    x: t.max_drawdown,
    y: t.cagr,
    r: t.rank ? 7 : 5,
    shape: t.source === 'perturbation' ? 'diamond' : 'circle',
    className: `${t.feasible ? 'feasible' : 'infeasible'}${t.rank ? ' top' : ''}${t.front ? ' front' : ''} ${t.source}`,
    label: t.rank ? `#${t.rank}` : '',
    title: `trial ${t.trial_index} (${t.source}) · CAGR ${pct(t.cagr)} · MaxDD ${pct(t.max_drawdown)}${t.front ? ' · on the Pareto front' : ''} · ${names.map((n) => `${n}=${param(t.params[n])}`).join(' ')}`,
  }));
  const shown = points.length;
  const total = scatter?.total ?? 0;
  const note = shown < total
    ? `<p class="muted small" id="scatter-note">${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} completed trials: the Top 3, the Pareto front and a fixed sample of the rest.</p>`
    : '';
  return scatterChart(points, {
    ...size,
    title: 'CAGR versus max drawdown',
    limitX: limit,
    limitLabel: limit != null ? `MaxDD ≤ ${pct(limit, 1)}` : '',
    xFormat: (v) => pct(v, 0),
    yFormat: (v) => pct(v, 1),
    xLabel: 'max drawdown',
    yLabel: 'CAGR',
  }) + note;
}

// The heatmap's axes: the sweep's grid parameters in display order; the first two are the
// columns and rows, a third gives one panel per value, any further one is folded into the
// cells (each shows the best over it).
export function heatmapAxes(spec, names) {
  const grid = spec?.search?.grid ?? {};
  const [x, y, panel, ...folded] = names.filter((n) => n in grid);
  return { x, y, panel, folded };
}

export function heatmapQuery(axes) {
  const query = new URLSearchParams({ x: axes.x, metric: 'cagr', stat: 'max' });
  if (axes.y) query.set('y', axes.y);
  if (axes.panel) query.set('panel', axes.panel);
  return query.toString();
}

// The heatmaps from GET …/aggregates (cells of the grid's trials, the best CAGR of each).
export function heatmapsFor(agg, axes, limit) {
  if (!axes.x) return `<p class="muted">This sweep has no grid to draw.</p>`;
  if (!agg) return `<p class="muted">Loading…</p>`;
  const key = (p, r, c) => `${p}|${r}|${c}`;
  const byCell = new Map(agg.cells.map((cell) => [key(cell.panel, cell.y, cell.x), cell]));
  const rows = agg.y_values.length ? agg.y_values : [null];
  const panels = agg.panel_values.length ? agg.panel_values : [null];
  const { lo, hi } = agg;
  const folded = axes.folded.length ? ` over ${axes.folded.join(', ')}` : '';
  return `<div class="heatmaps">${panels.map((w) => heatmap({
    rows,
    cols: agg.x_values,
    lo: lo ?? 0,
    hi: hi ?? 0,
    title: w == null ? 'grid' : `${axes.panel} = ${param(w)}`,
    rowLabel: axes.y ?? '',
    colLabel: axes.x,
    fmtRow: (r) => (r == null ? '' : param(r)),
    fmtCol: param,
    cell: (r, c) => {
      const cell = byCell.get(key(w, r, c));
      if (!cell) return { text: '–', title: 'not in this sweep' };
      const where = [[axes.x, c], [axes.y, r], [axes.panel, w]].filter(([n]) => n)
        .map(([n, v]) => `${n} ${param(v)}`).join(', ');
      const breaks = cell.completed > 0 && cell.feasible === 0;
      const counts = cell.trials > 1 ? ` · best of ${cell.completed}/${cell.trials} trials, ${cell.feasible} feasible` : '';
      return {
        value: cell.value,
        text: cell.value != null ? `${pct(cell.value, 1)}${breaks ? '*' : ''}` : `${cell.completed}/${cell.trials}`,
        marked: breaks,
        title: `${where}: CAGR ${pct(cell.value)}${counts}${breaks ? ' (breaks the constraints)' : ''}${cell.run_id ? ` · run ${cell.run_id}` : ''}`,
      };
    },
  })).join('')}</div>
  <p class="muted small" id="heatmap-note">Colour: best CAGR${esc(folded)} ${lo != null ? colorScaleLegend(lo, hi, (v) => pct(v, 1)) : ''}
    · * = no trial of the cell meets the constraints${limit != null ? ` (MaxDD ≤ ${pct(limit, 1)})` : ''} · perturbation trials are not on the grid and are left out.</p>`;
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
