// One sweep: live progress, Top 3, scatter, heatmaps, equity, the Robustness panel (once the
// sweep has finished), sortable trials, cancel and report downloads. The parameter columns are
// the sweep's own (its spec.search).
import { api } from '../api.js';
import { esc } from '../charts.js';
import {
  chartSize, errorBox, pct, progressBar, statusBadge, sweepParamNames, syntheticBadge,
} from '../format.js';
import {
  ACTIVE, app, currentToken, isCurrent, onResize, poll, setTitle,
} from '../router.js';
import {
  countsLine, drawdownLimit, equityChart, equitySeries, heatmapsFor, scatterFor, sweepSummary,
  topTable, trialsTable,
} from './sweep-views.js';
import { drawRobustness, robustnessHtml } from './robustness.js';

const ANALYSIS_ATTEMPTS = 30; // a finished sweep's analysis is stored within seconds

export async function optimizationPage(id) {
  const token = currentToken();
  setTitle(`Optimization ${id}`);
  app.innerHTML = `<p class="muted">Loading optimization ${id}…</p>`;
  const state = {
    sort: { key: 'trial_index', dir: 'asc' }, trials: [], top: null, sweep: null, equityKey: null, equity: null,
    analysis: null, analysisAttempts: 0,
  };
  let sweep;
  try {
    sweep = await api(`/api/optimizations/${id}`);
  } catch (err) {
    app.innerHTML = `<div class="page-head"><h1>Optimization ${id}</h1></div>${errorBox(err)}`;
    return;
  }
  if (!isCurrent(token)) return;
  const names = sweepParamNames(sweep.spec);
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
    <section class="card"><h2>Top 3</h2><div id="top"></div><div id="top-verdict"></div></section>
    <div class="two-col">
      <section class="card"><h2>CAGR vs max drawdown</h2><div id="scatter" class="chart-box"></div>
        <p class="muted small key"><span><span class="dot-key feasible"></span> feasible</span>
          <span><span class="dot-key infeasible"></span> breaks the limit</span>
          <span><span class="dot-key"></span> grid</span><span><span class="dot-key diamond"></span> perturbation</span>
          <span>shaded: allowed drawdown</span></p></section>
      <section class="card"><h2>Equity: Top 3 vs baseline</h2><div id="equity" class="chart-box"></div></section>
    </div>
    <section class="card"><h2>Grid: CAGR by max_exposure × vol_target</h2><div id="heatmap" class="chart-box"></div></section>
    <section class="card" id="robustness-card"><h2>Robustness <span class="muted small">how much to trust the Top 3 (DESIGN §7)</span></h2>
      <div id="robustness"><p class="muted">The analysis is drawn when the sweep has finished.</p></div></section>
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
    document.getElementById('trials').innerHTML = trialsTable(state.trials, state.sort, names, equivalentOf(state));
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
    if (!isCurrent(token) || !state.sweep) return;
    const limit = drawdownLimit(state.sweep.spec);
    const scatterBox = document.getElementById('scatter');
    scatterBox.innerHTML = scatterFor(state.trials, state.top, limit, chartSize(scatterBox), names);
    document.getElementById('heatmap').innerHTML = heatmapsFor(state.trials, state.sweep.spec, limit);
    const equityBox = document.getElementById('equity');
    if (state.equity) equityBox.innerHTML = equityChart(state.equity, chartSize(equityBox));
    if (state.analysis) drawRobustness(state.analysis, chartSize);
  };

  // The analysis of a finished sweep, fetched once; a 409 (not stored yet) is asked again on
  // the next poll. Returns true while it is worth polling for.
  const loadAnalysis = async (s) => {
    if (state.analysis || ACTIVE.has(s.status) || state.analysisAttempts >= ANALYSIS_ATTEMPTS) return false;
    state.analysisAttempts += 1;
    const holder = document.getElementById('robustness');
    try {
      const analysis = await api(`/api/optimizations/${id}/analysis`);
      if (!isCurrent(token)) return false;
      state.analysis = analysis;
      holder.innerHTML = robustnessHtml(analysis);
      document.getElementById('top').innerHTML = topTable(state.top, names, analysis.equivalent);
      document.getElementById('top-verdict').innerHTML = analysis.verdict?.en
        ? `<p class="muted small" id="top-verdict-text">${esc(analysis.verdict.en)} <a href="#/optimizations/${id}" data-jump="robustness-card">Robustness ↓</a></p>` : '';
      document.getElementById('trials').innerHTML = trialsTable(state.trials, state.sort, names, analysis.equivalent);
      drawCharts();
      return false;
    } catch (err) {
      if (!isCurrent(token)) return false;
      const pending = err.status === 409 && state.analysisAttempts < ANALYSIS_ATTEMPTS;
      holder.innerHTML = pending
        ? `<p class="muted">The analysis is being computed…</p>`
        : err.status === 404 && /not found/i.test(err.message) && !/optimization/.test(err.message)
          ? `<p class="muted">This server has no analysis endpoint (GET /api/optimizations/{id}/analysis).</p>`
          : errorBox(err);
      return pending;
    }
  };
  document.getElementById('top-verdict').addEventListener('click', (event) => {
    const jump = event.target.closest('[data-jump]');
    if (!jump) return;
    event.preventDefault();
    document.getElementById(jump.dataset.jump)?.scrollIntoView({ behavior: 'smooth' });
  });
  onResize(drawCharts);

  const refresh = async () => {
    const [s, trials, top] = await Promise.all([
      state.sweep && !ACTIVE.has(state.sweep.status) ? Promise.resolve(state.sweep) : api(`/api/optimizations/${id}`),
      api(`/api/optimizations/${id}/trials`),
      api(`/api/optimizations/${id}/top?n=3`),
    ]);
    if (!isCurrent(token)) return false;
    state.sweep = s;
    state.trials = trials.items;
    state.top = top;
    renderHead(s);
    document.getElementById('top').innerHTML = topTable(top, names, equivalentOf(state));
    drawCharts();
    document.getElementById('trials').innerHTML = trialsTable(state.trials, state.sort, names, equivalentOf(state));
    document.getElementById('trials-count').textContent = `(${trials.total})`;
    const equityKey = `${top.items.map((it) => it.run_id).join(',')}:${s.status}`;
    if (equityKey !== state.equityKey) {
      state.equityKey = equityKey;
      const equity = await equitySeries(s, top);
      if (isCurrent(token) && state.equityKey === equityKey) {
        state.equity = equity;
        drawCharts();
      }
    }
    const analysisPending = await loadAnalysis(s);
    return ACTIVE.has(s.status) || analysisPending;
  };

  try {
    if (await refresh()) poll(token, refresh);
  } catch (err) {
    document.getElementById('sweep-error').innerHTML = errorBox(err);
    poll(token, refresh);
  }
}

const equivalentOf = (state) => state.analysis?.equivalent ?? null;
