// StockLean web UI: a hash-routed single page over the JSON API (DESIGN §4.1, §4.2).
import {
  colorScaleLegend, esc, heatmap, legend, lineChart, PALETTE, scatterChart,
} from './charts.js';

const TOKEN_KEY = 'stocklean.apiToken';
const ACTIVE = new Set(['queued', 'running']);
const POLL_MS = 1000;
const app = document.getElementById('app');

// ---------------------------------------------------------------- API access

export class ApiError extends Error {
  constructor(status, detail) {
    super(formatDetail(detail, status));
    this.status = status;
    this.detail = detail;
  }
}

// The API's error detail in words: a string as is; a validation list as "field: msg" lines,
// the field being the loc without its leading "body" (or "query"/"path").
export function formatDetail(detail, status) {
  if (detail == null || detail === '') return `request failed (HTTP ${status})`;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      const loc = Array.isArray(item.loc) ? [...item.loc] : [];
      if (['body', 'query', 'path'].includes(loc[0])) loc.shift();
      const msg = item.msg ?? JSON.stringify(item);
      return loc.length ? `${loc.join('.')}: ${msg}` : msg;
    }).join('\n');
  }
  return JSON.stringify(detail);
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server (${err.message})`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? text.slice(0, 300));
  return data;
}

// ---------------------------------------------------------------- formatting

const pct = (v, digits = 2) => (v == null || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)} %`);
const num = (v, digits = 3) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const money = (v) => (v == null ? '–' : `$${Math.round(v).toLocaleString('en-US')}`);
const param = (v) => (v == null ? '–' : String(Number(Number(v).toFixed(6))));

function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function statusBadge(status) {
  return `<span class="badge status-${esc(status)}" data-status="${esc(status)}">${esc(status)}</span>`;
}

const syntheticBadge = (provenance) => (provenance?.synthetic
  ? `<span class="badge synthetic" title="${esc(provenance.description ?? 'synthetic market data')}">SYNTHETIC data</span>`
  : '');

function progressBar(fraction, label) {
  const p = Math.max(0, Math.min(1, fraction ?? 0));
  return `<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow="${Math.round(p * 100)}" aria-label="${esc(label ?? 'progress')}">
    <div class="progress-fill" style="width:${(p * 100).toFixed(1)}%"></div>
    <span class="progress-text">${Math.round(p * 100)} %</span></div>`;
}

function errorBox(err) {
  const message = err instanceof Error ? err.message : String(err);
  return `<div class="error" role="alert"><strong>Error${err?.status ? ` (HTTP ${err.status})` : ''}:</strong>
    <ul>${message.split('\n').map((line) => `<li>${esc(line)}</li>`).join('')}</ul></div>`;
}

const PARAM_NAMES = ['max_exposure', 'vol_target', 'max_weight'];

// Charts are drawn at their box's pixel width so that their text keeps its size on any screen.
function chartSize(element) {
  const width = Math.max(300, Math.round(element?.clientWidth || 640));
  return { width, height: Math.round(Math.min(340, Math.max(230, width * 0.55))) };
}

let redrawCharts = null; // the current page's chart drawing, run again on resize
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => redrawCharts?.(), 120);
});

// ---------------------------------------------------------------- routing

let pageTimer = null;
let pageToken = 0; // bumps on every navigation; stale async work checks it and stops

function stopPolling() {
  if (pageTimer) clearTimeout(pageTimer);
  pageTimer = null;
}

function route() {
  stopPolling();
  redrawCharts = null;
  pageToken += 1;
  const hash = location.hash || '#/optimizations';
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.remove('current'));
  let m;
  if (parts[0] === 'optimizations' && parts[1] === 'new') {
    markNav('new');
    return newOptimizationPage();
  }
  if (parts[0] === 'optimizations' && (m = /^\d+$/.exec(parts[1] ?? ''))) {
    markNav('optimizations');
    return optimizationPage(Number(m[0]));
  }
  if (parts[0] === 'backtests' && (m = /^\d+$/.exec(parts[1] ?? ''))) {
    return backtestPage(Number(m[0]));
  }
  markNav('optimizations');
  return optimizationsListPage();
}

function markNav(name) {
  document.querySelector(`[data-nav="${name}"]`)?.classList.add('current');
}

function setTitle(text) {
  document.title = `${text} · StockLean`;
}

// Poll `fn` every POLL_MS while it returns true and the page is still the same.
function poll(token, fn) {
  const tick = async () => {
    if (token !== pageToken) return;
    let again = false;
    try { again = await fn(); } catch (err) { console.error(err); again = true; }
    if (again && token === pageToken) pageTimer = setTimeout(tick, POLL_MS);
  };
  pageTimer = setTimeout(tick, POLL_MS);
}

// ---------------------------------------------------------------- list page

async function optimizationsListPage() {
  const token = pageToken;
  setTitle('Optimizations');
  app.innerHTML = `
    <div class="page-head"><h1>Optimizations</h1>
      <a class="button primary" href="#/optimizations/new">New optimization</a></div>
    <section class="card"><div id="opt-list"><p class="muted">Loading…</p></div></section>`;
  const render = async () => {
    const holder = document.getElementById('opt-list');
    let data;
    try {
      data = await api('/api/optimizations?limit=100');
    } catch (err) {
      if (holder) holder.innerHTML = errorBox(err);
      return false;
    }
    if (token !== pageToken || !holder) return false;
    if (!data.items.length) {
      holder.innerHTML = `<p class="muted">No optimizations yet. <a href="#/optimizations/new">Start one</a>.</p>`;
      return false;
    }
    holder.innerHTML = `<div class="table-wrap"><table class="data" id="optimizations-table">
      <thead><tr><th>#</th><th>Status</th><th>Progress</th><th>Best CAGR so far</th>
        <th>Its MaxDD</th><th>Baseline</th><th>Trials</th><th>Created</th></tr></thead>
      <tbody>${data.items.map((o) => `
        <tr data-id="${o.id}">
          <td><a href="#/optimizations/${o.id}">#${o.id}</a> ${syntheticBadge(o.spec?.data_provenance)}</td>
          <td>${statusBadge(o.status)}</td>
          <td class="progress-cell">${progressBar(o.progress, `optimization ${o.id} progress`)}</td>
          <td class="num">${pct(o.best?.cagr)}${o.best && !o.best.feasible ? ' <span class="muted" title="violates the constraints">(infeasible)</span>' : ''}</td>
          <td class="num">${pct(o.best?.max_drawdown)}</td>
          <td><a href="#/backtests/${o.baseline_run_id}">run ${o.baseline_run_id}</a></td>
          <td class="num">${o.trials_total}</td>
          <td>${esc(when(o.created_at))}</td>
        </tr>`).join('')}</tbody></table></div>
      <p class="muted small">${data.total} optimization${data.total === 1 ? '' : 's'}</p>`;
    return data.items.some((o) => ACTIVE.has(o.status));
  };
  if (await render()) poll(token, render);
}

// ---------------------------------------------------------------- new optimization

const FORM_FIELDS = [
  { name: 'baseline_run_id', label: 'Baseline run id', type: 'text', inputmode: 'numeric', required: true, placeholder: '615' },
  { name: 'train_job_id', label: 'Train job id', type: 'text', inputmode: 'numeric', required: true, placeholder: '120' },
  { name: 'risk_off_symbols', label: 'Risk-off symbols', type: 'text', value: 'VGSH,IEF,GLD,TLT', help: 'comma list; the first is the cash-like fallback' },
  { name: 'backtest_start', label: 'Window start', type: 'date', help: 'empty: the baseline run’s' },
  { name: 'backtest_end', label: 'Window end', type: 'date', help: 'empty: the baseline run’s' },
  { name: 'drawdown_limit', label: 'Drawdown limit', type: 'text', inputmode: 'decimal', value: '0.15', help: 'max drawdown as a fraction (0.15 = 15 %)' },
  { name: 'max_inflight', label: 'Max in flight', type: 'text', inputmode: 'numeric', value: '8', help: 'backtests running at once' },
];

function formBody(form) {
  const values = Object.fromEntries(new FormData(form).entries());
  const asNumber = (text) => (/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text.trim());
  const body = {
    baseline_run_id: asNumber(values.baseline_run_id ?? ''),
    train_job_id: asNumber(values.train_job_id ?? ''),
  };
  if (values.backtest_start) body.backtest_start = values.backtest_start;
  if (values.backtest_end) body.backtest_end = values.backtest_end;
  const riskOff = (values.risk_off_symbols ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (riskOff.length) body.overrides = { risk_off_symbols: riskOff.join(',') };
  if ((values.drawdown_limit ?? '').trim()) {
    body.constraints = [{ metric: 'max_drawdown', op: '<=', value: asNumber(values.drawdown_limit) }];
  }
  if ((values.max_inflight ?? '').trim()) body.max_inflight = asNumber(values.max_inflight);
  return body;
}

function newOptimizationPage() {
  setTitle('New optimization');
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  app.innerHTML = `
    <div class="page-head"><h1>New optimization</h1></div>
    <section class="card">
      <p class="muted">The seed’s search space: an 18-point grid over max_exposure × vol_target ×
        max_weight plus 12 perturbations around the baseline run’s values, ranked by CAGR under the
        drawdown limit.</p>
      <form id="opt-form" class="form-grid" novalidate>
        ${FORM_FIELDS.map((f) => `
          <label class="field" for="f-${f.name}">
            <span class="label">${esc(f.label)}${f.required ? ' <span class="req">*</span>' : ''}</span>
            <input id="f-${f.name}" name="${f.name}" type="${f.type}" ${f.inputmode ? `inputmode="${f.inputmode}"` : ''}
              value="${esc(params.get(f.name) ?? f.value ?? '')}" placeholder="${esc(f.placeholder ?? '')}" autocomplete="off">
            ${f.help ? `<span class="help">${esc(f.help)}</span>` : ''}
          </label>`).join('')}
        <div class="actions">
          <button type="button" id="preview-btn">Preview trials</button>
          <button type="submit" id="submit-btn" class="primary">Start optimization</button>
        </div>
      </form>
      <div id="form-error"></div>
    </section>
    <section class="card" id="preview" hidden></section>`;
  const form = document.getElementById('opt-form');
  const errorHolder = document.getElementById('form-error');
  const preview = document.getElementById('preview');
  const busy = (on) => form.querySelectorAll('button').forEach((b) => { b.disabled = on; });

  const markFields = (err) => {
    form.querySelectorAll('.invalid').forEach((el) => el.classList.remove('invalid'));
    if (!Array.isArray(err?.detail)) return;
    for (const item of err.detail) {
      const loc = (item.loc ?? []).filter((part) => part !== 'body');
      const name = loc[0] === 'overrides' ? 'risk_off_symbols' : loc[0] === 'constraints' ? 'drawdown_limit' : loc[0];
      document.getElementById(`f-${name}`)?.classList.add('invalid');
    }
  };

  document.getElementById('preview-btn').addEventListener('click', async () => {
    errorHolder.innerHTML = '';
    busy(true);
    try {
      const data = await api('/api/optimizations/preview', { method: 'POST', body: formBody(form) });
      markFields(null);
      preview.hidden = false;
      const counts = data.items.reduce((acc, t) => ({ ...acc, [t.source]: (acc[t.source] ?? 0) + 1 }), {});
      const names = ordered(new Set(data.items.flatMap((t) => Object.keys(t.params))), PARAM_NAMES);
      preview.innerHTML = `<h2>Preview: <span id="preview-count">${data.trials_total}</span> trials</h2>
        <p class="muted">${Object.entries(counts).map(([k, v]) => `${v} ${esc(k)}`).join(' + ')}.
          Nothing is stored until you start the optimization.</p>
        <div class="table-wrap"><table class="data" id="preview-table">
          <thead><tr><th>#</th><th>Source</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>Window</th></tr></thead>
          <tbody>${data.items.map((t) => {
            const algo = t.request?.params?.algorithm_parameters ?? {};
            return `<tr><td class="num">${t.trial_index}</td><td><span class="source ${esc(t.source)}">${esc(t.source)}</span></td>
              ${names.map((n) => `<td class="num">${param(t.params[n])}</td>`).join('')}
              <td>${esc(algo.backtest_start ?? '')} → ${esc(algo.backtest_end ?? '')}</td></tr>`;
          }).join('')}</tbody></table></div>`;
    } catch (err) {
      markFields(err);
      preview.hidden = true;
      errorHolder.innerHTML = errorBox(err);
    } finally {
      busy(false);
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorHolder.innerHTML = '';
    busy(true);
    try {
      const created = await api('/api/optimizations', { method: 'POST', body: formBody(form) });
      location.hash = `#/optimizations/${created.id}`;
    } catch (err) {
      markFields(err);
      errorHolder.innerHTML = errorBox(err);
      busy(false);
    }
  });
}

// ---------------------------------------------------------------- optimization page

const TRIAL_COLUMNS = [
  { key: 'trial_index', label: '#', num: true, get: (t) => t.trial_index },
  { key: 'source', label: 'Source', get: (t) => t.source },
  { key: 'max_exposure', label: 'max_exposure', num: true, get: (t) => t.params.max_exposure },
  { key: 'vol_target', label: 'vol_target', num: true, get: (t) => t.params.vol_target },
  { key: 'max_weight', label: 'max_weight', num: true, get: (t) => t.params.max_weight },
  { key: 'status', label: 'Status', get: (t) => t.status },
  { key: 'cagr', label: 'CAGR', num: true, get: (t) => t.cagr },
  { key: 'max_drawdown', label: 'MaxDD', num: true, get: (t) => t.max_drawdown },
  { key: 'sharpe', label: 'Sharpe', num: true, get: (t) => t.sharpe },
  { key: 'feasible', label: 'Feasible', get: (t) => (t.feasible == null ? null : t.feasible ? 1 : 0) },
  { key: 'run_id', label: 'Run', num: true, get: (t) => t.run_id },
];

function sortTrials(trials, sort) {
  const column = TRIAL_COLUMNS.find((c) => c.key === sort.key) ?? TRIAL_COLUMNS[0];
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

function trialsTable(trials, sort) {
  const rows = sortTrials(trials, sort);
  return `<table class="data sortable" id="trials-table">
    <thead><tr>${TRIAL_COLUMNS.map((c) => {
      const state = c.key === sort.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
      const arrow = state === 'ascending' ? '▲' : state === 'descending' ? '▼' : '';
      return `<th aria-sort="${state}" class="${c.num ? 'num' : ''}"><button type="button" class="th-sort" data-sort="${c.key}">${esc(c.label)}<span class="arrow">${arrow}</span></button></th>`;
    }).join('')}</tr></thead>
    <tbody>${rows.map((t) => `
      <tr class="${t.feasible ? 'feasible' : t.feasible === false ? 'infeasible' : ''}" data-trial="${t.trial_index}">
        <td class="num">${t.trial_index}</td>
        <td><span class="source ${esc(t.source)}">${esc(t.source)}</span></td>
        ${PARAM_NAMES.map((n) => `<td class="num">${param(t.params[n])}</td>`).join('')}
        <td>${statusBadge(t.status)}${t.error ? ` <span class="muted" title="${esc(t.error)}">ⓘ</span>` : ''}</td>
        <td class="num">${pct(t.cagr)}</td>
        <td class="num">${pct(t.max_drawdown)}</td>
        <td class="num">${num(t.sharpe, 2)}</td>
        <td>${t.feasible ? '<span class="ok" title="meets the constraints">✓ feasible</span>' : t.feasible === false ? '<span class="muted">✗</span>' : ''}</td>
        <td class="num">${t.run_id ? `<a href="#/backtests/${t.run_id}">${t.run_id}</a>` : '–'}</td>
      </tr>`).join('')}</tbody></table>`;
}

function drawdownLimit(spec) {
  const c = (spec?.constraints ?? []).find((x) => x.metric === 'max_drawdown' && (x.op === '<=' || x.op === '<'));
  return c ? c.value : null;
}

function topTable(top) {
  if (!top?.items?.length) return `<p class="muted">No completed trials yet.</p>`;
  return `${top.constraint_met ? '' : `<p class="warn">No trial meets the constraints yet; ranked by the smallest violation.</p>`}
    <div class="table-wrap"><table class="data" id="top-table">
    <thead><tr><th>Rank</th><th>Run</th><th>CAGR</th><th>MaxDD</th><th>Sharpe</th>
      ${PARAM_NAMES.map((n) => `<th>${n}</th>`).join('')}<th>Feasible</th></tr></thead>
    <tbody>${top.items.map((it, i) => `<tr>
      <td><span class="rank" style="--c:${PALETTE[i % PALETTE.length]}">${it.rank}</span></td>
      <td><a href="#/backtests/${it.run_id}">run ${it.run_id}</a></td>
      <td class="num strong">${pct(it.cagr)}</td><td class="num">${pct(it.max_drawdown)}</td>
      <td class="num">${num(it.sharpe, 2)}</td>
      ${PARAM_NAMES.map((n) => `<td class="num">${param(it.params[n])}</td>`).join('')}
      <td>${it.feasible ? '<span class="ok">✓</span>' : '<span class="muted">✗</span>'}</td></tr>`).join('')}
    </tbody></table></div>`;
}

function scatterFor(trials, top, limit, size) {
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
      title: `trial ${t.trial_index} (${t.source}) · CAGR ${pct(t.cagr)} · MaxDD ${pct(t.max_drawdown)} · ${PARAM_NAMES.map((n) => `${n}=${param(t.params[n])}`).join(' ')}`,
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

function heatmapsFor(trials, spec, limit) {
  const grid = spec?.search?.grid ?? {};
  const cols = (grid.max_exposure ?? []).map(Number);
  const rows = (grid.vol_target ?? []).map(Number);
  const panels = (grid.max_weight ?? []).map(Number);
  if (!cols.length || !rows.length) return `<p class="muted">This sweep has no max_exposure × vol_target grid.</p>`;
  const key = (p) => PARAM_NAMES.map((n) => Number(p[n]).toFixed(6)).join('|');
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

async function equitySeries(sweep, top) {
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

function equityChart({ series, notes }, size) {
  if (!series.length && !notes.length) return `<p class="muted">Equity curves appear when trials complete.</p>`;
  return `${lineChart(series, { ...size, title: 'equity of the Top runs and the baseline', yFormat: (v) => `$${Math.round(v / 1000)}k`, yLabel: 'equity' })}
    ${legend(series)}
    ${notes.length ? `<p class="muted small">${notes.map(esc).join('<br>')}</p>` : ''}`;
}

function sweepSummary(sweep) {
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

function countsLine(counts) {
  return Object.entries(counts).filter(([, v]) => v > 0)
    .map(([k, v]) => `<span class="count count-${esc(k)}">${v} ${esc(k)}</span>`).join(' ');
}

async function optimizationPage(id) {
  const token = pageToken;
  setTitle(`Optimization ${id}`);
  app.innerHTML = `<p class="muted">Loading optimization ${id}…</p>`;
  const state = {
    sort: { key: 'trial_index', dir: 'asc' }, trials: [], top: null, sweep: null, equityKey: null, equity: null,
  };
  let sweep;
  try {
    sweep = await api(`/api/optimizations/${id}`);
  } catch (err) {
    app.innerHTML = `<div class="page-head"><h1>Optimization ${id}</h1></div>${errorBox(err)}`;
    return;
  }
  if (token !== pageToken) return;
  app.innerHTML = `
    <div class="page-head">
      <h1>Optimization #${id} <span id="sweep-status"></span> ${syntheticBadge(sweep.spec?.data_provenance)}</h1>
      <div class="head-actions" id="sweep-actions"></div>
    </div>
    <section class="card">
      <div id="sweep-progress"></div>
      <div id="sweep-error"></div>
      ${sweepSummary(sweep)}
    </section>
    <section class="card"><h2>Top 3</h2><div id="top"></div></section>
    <div class="two-col">
      <section class="card"><h2>CAGR vs max drawdown</h2><div id="scatter" class="chart-box"></div>
        <p class="muted small key"><span><span class="dot-key feasible"></span> feasible</span>
          <span><span class="dot-key infeasible"></span> breaks the limit</span>
          <span><span class="dot-key"></span> grid</span><span><span class="dot-key diamond"></span> perturbation</span>
          <span>shaded: allowed drawdown</span></p></section>
      <section class="card"><h2>Equity: Top 3 vs baseline</h2><div id="equity" class="chart-box"></div></section>
    </div>
    <section class="card"><h2>Grid: CAGR by max_exposure × vol_target</h2><div id="heatmap" class="chart-box"></div></section>
    <section class="card"><h2>Trials <span class="muted small" id="trials-count"></span></h2>
      <p class="muted small">Click a column header to sort. Feasible trials are marked ✓.</p>
      <div class="table-wrap" id="trials"></div></section>`;

  document.getElementById('trials').addEventListener('click', (event) => {
    const button = event.target.closest('[data-sort]');
    if (!button) return;
    const key = button.dataset.sort;
    state.sort = state.sort.key === key
      ? { key, dir: state.sort.dir === 'asc' ? 'desc' : 'asc' }
      : { key, dir: ['cagr', 'sharpe', 'feasible'].includes(key) ? 'desc' : 'asc' };
    document.getElementById('trials').innerHTML = trialsTable(state.trials, state.sort);
  });

  document.getElementById('sweep-actions').addEventListener('click', async (event) => {
    if (!event.target.matches('#cancel-btn')) return;
    if (!window.confirm(`Cancel optimization #${id}? Trials not yet started will not run.`)) return;
    event.target.disabled = true;
    try {
      state.sweep = await api(`/api/optimizations/${id}/cancel`, { method: 'POST' });
      await refresh();
    } catch (err) {
      document.getElementById('sweep-error').innerHTML = errorBox(err);
      event.target.disabled = false;
    }
  });

  const renderHead = (s) => {
    document.getElementById('sweep-status').innerHTML = statusBadge(s.status);
    const active = ACTIVE.has(s.status);
    document.getElementById('sweep-actions').innerHTML = active
      ? `<button type="button" id="cancel-btn" class="danger">Cancel</button>`
      : `<a class="button" id="report-md" href="/api/optimizations/${id}/report" download="optimization-${id}-report.md">Report (.md)</a>
         <a class="button" id="report-md-en" href="/api/optimizations/${id}/report?lang=en" download="optimization-${id}-report-en.md">Report, English (.md)</a>
         <a class="button" id="report-png" href="/api/optimizations/${id}/report.png" download="optimization-${id}-report.png">Chart (.png)</a>`;
    const done = s.counts.completed + s.counts.failed + s.counts.canceled;
    document.getElementById('sweep-progress').innerHTML = `
      <div class="progress-row">${progressBar(s.progress, 'sweep progress')}
        <span class="progress-count" id="progress-count">${done} / ${s.trials_total} done</span></div>
      <p class="counts">${countsLine(s.counts)}${s.best ? `<span class="best">· best so far: <strong>${pct(s.best.cagr)}</strong> CAGR (run <a href="#/backtests/${s.best.run_id}">${s.best.run_id}</a>)</span>` : ''}</p>`;
    if (s.error) document.getElementById('sweep-error').innerHTML = errorBox(new Error(s.error));
  };

  const drawCharts = () => {
    if (token !== pageToken || !state.sweep) return;
    const limit = drawdownLimit(state.sweep.spec);
    const scatterBox = document.getElementById('scatter');
    scatterBox.innerHTML = scatterFor(state.trials, state.top, limit, chartSize(scatterBox));
    document.getElementById('heatmap').innerHTML = heatmapsFor(state.trials, state.sweep.spec, limit);
    const equityBox = document.getElementById('equity');
    if (state.equity) equityBox.innerHTML = equityChart(state.equity, chartSize(equityBox));
  };
  redrawCharts = drawCharts;

  const refresh = async () => {
    const [s, trials, top] = await Promise.all([
      state.sweep && !ACTIVE.has(state.sweep.status) ? Promise.resolve(state.sweep) : api(`/api/optimizations/${id}`),
      api(`/api/optimizations/${id}/trials`),
      api(`/api/optimizations/${id}/top?n=3`),
    ]);
    if (token !== pageToken) return false;
    state.sweep = s;
    state.trials = trials.items;
    state.top = top;
    renderHead(s);
    document.getElementById('top').innerHTML = topTable(top);
    drawCharts();
    document.getElementById('trials').innerHTML = trialsTable(state.trials, state.sort);
    document.getElementById('trials-count').textContent = `(${trials.total})`;
    const equityKey = `${top.items.map((it) => it.run_id).join(',')}:${s.status}`;
    if (equityKey !== state.equityKey) {
      state.equityKey = equityKey;
      const equity = await equitySeries(s, top);
      if (token === pageToken && state.equityKey === equityKey) {
        state.equity = equity;
        drawCharts();
      }
    }
    return ACTIVE.has(s.status);
  };

  try {
    if (await refresh()) poll(token, refresh);
  } catch (err) {
    document.getElementById('sweep-error').innerHTML = errorBox(err);
    poll(token, refresh);
  }
}

// ---------------------------------------------------------------- backtest page

// LEAN's own order of its statistics (PostgreSQL's JSONB does not keep key order).
const LEAN_STATISTICS_ORDER = [
  'Total Orders', 'Average Win', 'Average Loss', 'Compounding Annual Return', 'Drawdown',
  'Expectancy', 'Start Equity', 'End Equity', 'Net Profit', 'Sharpe Ratio', 'Sortino Ratio',
  'Probabilistic Sharpe Ratio', 'Loss Rate', 'Win Rate', 'Profit-Loss Ratio', 'Alpha', 'Beta',
  'Annual Standard Deviation', 'Annual Variance', 'Information Ratio', 'Tracking Error',
  'Treynor Ratio', 'Total Fees', 'Estimated Strategy Capacity', 'Lowest Capacity Asset',
  'Portfolio Turnover', 'Drawdown Recovery',
];
const PARAMETER_ORDER = [
  'strategy', 'backtest_start', 'backtest_end', 'initial_cash', 'rebalance', 'top_n', 'max_weight',
  'max_exposure', 'vol_target', 'vol_lookback', 'risk_off_symbols', 'risk_off_mode', 'score_csv_path',
];

// Keys in the preferred order first, the others after them alphabetically.
function ordered(keys, preferred) {
  const rank = (k) => (preferred.includes(k) ? preferred.indexOf(k) : preferred.length);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const HEADLINE_STATS = ['Compounding Annual Return', 'Drawdown', 'Sharpe Ratio', 'Net Profit', 'Total Orders', 'Total Fees'];

async function backtestPage(id) {
  const token = pageToken;
  setTitle(`Backtest ${id}`);
  app.innerHTML = `<p class="muted">Loading backtest ${id}…</p>`;
  const render = async () => {
    let run;
    try {
      run = await api(`/api/backtests/${id}`);
    } catch (err) {
      app.innerHTML = `<div class="page-head"><h1>Backtest run ${id}</h1></div>${errorBox(err)}`;
      return false;
    }
    if (token !== pageToken) return false;
    const metrics = run.metrics ?? {};
    const stats = metrics.statistics ?? {};
    const algo = run.params?.algorithm_parameters ?? {};
    const statKeys = ordered(Object.keys(stats), LEAN_STATISTICS_ORDER);
    app.innerHTML = `
      <div class="page-head"><h1>Backtest run ${run.id} ${statusBadge(run.status)}
        ${syntheticBadge(metrics.synthetic ? { synthetic: true } : null)}</h1>
        <div class="head-actions"><a class="button" href="javascript:history.back()">← Back</a></div></div>
      <section class="card">
        <dl class="facts">
          <div><dt>Project</dt><dd>${run.project_id}</dd></div>
          <div><dt>Train job</dt><dd>${run.params?.pipeline_train_job_id ?? '–'}</dd></div>
          <div><dt>Strategy</dt><dd>${esc(algo.strategy ?? '–')}</dd></div>
          <div><dt>Window</dt><dd class="nowrap">${esc(algo.backtest_start ?? '?')} → ${esc(algo.backtest_end ?? '?')}</dd></div>
          <div><dt>Created</dt><dd>${esc(when(run.created_at))}</dd></div>
          <div><dt>Finished</dt><dd>${esc(when(run.finished_at))}</dd></div>
        </dl>
        ${run.error ? errorBox(new Error(run.error)) : ''}
        ${statKeys.length ? `<div class="kpis">${HEADLINE_STATS.filter((k) => k in stats).map((k) => `
          <div class="kpi"><span class="kpi-label">${esc(k)}</span><span class="kpi-value">${esc(stats[k])}</span></div>`).join('')}</div>` : ''}
      </section>
      ${run.status === 'completed' ? `<div class="two-col">
        <section class="card"><h2>Equity</h2><div id="bt-equity" class="chart-box"><p class="muted">Loading…</p></div></section>
        <section class="card"><h2>Drawdown</h2><div id="bt-drawdown" class="chart-box"><p class="muted">Loading…</p></div></section>
      </div>` : `<section class="card"><p class="muted">The run is ${esc(run.status)}; charts and statistics appear when it completes.</p></section>`}
      <div class="two-col">
        <section class="card"><h2>LEAN statistics</h2>
          ${statKeys.length ? `<div class="table-wrap"><table class="data kv" id="statistics-table"><tbody>
            ${statKeys.map((k) => `<tr><th scope="row">${esc(k)}</th><td class="num">${esc(stats[k])}</td></tr>`).join('')}
          </tbody></table></div>` : '<p class="muted">No statistics yet.</p>'}</section>
        <section class="card"><h2>Parameters</h2>
          <div class="table-wrap"><table class="data kv" id="params-table"><tbody>
            ${ordered(Object.keys(algo), PARAMETER_ORDER).map((k) => [k, algo[k]]).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td class="mono">${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</td></tr>`).join('')}
          </tbody></table></div></section>
      </div>`;
    if (run.status === 'completed') {
      try {
        const { items } = await api(`/api/backtests/${id}/equity`);
        if (token !== pageToken) return false;
        const draw = () => {
        const equityBox = document.getElementById('bt-equity');
        const drawdownBox = document.getElementById('bt-drawdown');
        if (!equityBox || !drawdownBox) return;
        equityBox.innerHTML = lineChart(
          [{ name: `run ${id}`, points: items.map((p) => ({ date: p.date, value: p.equity })), area: false }],
          { ...chartSize(equityBox), title: `equity of run ${id}`, yFormat: (v) => `$${Math.round(v / 1000)}k`, yLabel: 'equity' },
        ) + `<p class="muted small">${money(items[0]?.equity)} → ${money(items[items.length - 1]?.equity)}</p>`;
        drawdownBox.innerHTML = lineChart(
          [{ name: 'drawdown', color: '#dc2626', points: items.map((p) => ({ date: p.date, value: p.drawdown })), area: true }],
          { ...chartSize(drawdownBox), title: `drawdown of run ${id}`, yFormat: (v) => pct(v, 0), invert: true, zeroBased: true, yLabel: 'drawdown' },
        ) + `<p class="muted small">Maximum: ${pct(Math.max(...items.map((p) => p.drawdown)))}</p>`;
        };
        draw();
        redrawCharts = draw;
      } catch (err) {
        document.getElementById('bt-equity').innerHTML = errorBox(err);
        document.getElementById('bt-drawdown').innerHTML = '';
      }
    }
    return ACTIVE.has(run.status);
  };
  if (await render()) poll(token, render);
}

// ---------------------------------------------------------------- start

function initToken() {
  const input = document.getElementById('api-token');
  input.value = localStorage.getItem(TOKEN_KEY) ?? '';
  input.addEventListener('change', () => {
    const value = input.value.trim();
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  });
}

initToken();
window.addEventListener('hashchange', route);
route();
