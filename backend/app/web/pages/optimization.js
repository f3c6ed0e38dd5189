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
  countsLine, drawdownLimit, equityChart, equitySeries, firstDirection, heatmapAxes, heatmapQuery,
  heatmapsFor, scatterFor, sweepSummary, topTable, trialsPager, trialsTable,
} from './sweep-views.js';
import { drawRobustness, robustnessHtml } from './robustness.js';

const ANALYSIS_ATTEMPTS = 30; // a finished sweep's analysis is stored within seconds
const TRIALS_PAGE = 100; // trials per page of the table
// While a sweep runs its charts are summaries of the whole sweep (GET …/aggregates and
// …/scatter): refreshed on every poll for a small sweep, every few seconds for a big one.
const chartsEvery = (total) => (total > 1000 ? 5000 : 0);

export async function optimizationPage(id) {
  const token = currentToken();
  setTitle(`Optimization ${id}`);
  app.innerHTML = `<p class="muted">Loading optimization ${id}…</p>`;
  const state = {
    sort: { key: 'trial_index', dir: 'asc' }, offset: 0, trials: [], trialsTotal: 0, top: null,
    scatter: null, aggregates: null, chartsAt: null, sweep: null, equityKey: null, equity: null,
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
  const axes = heatmapAxes(sweep.spec, names);
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
    <section class="card"><h2>Grid: best CAGR by ${esc([axes.x, axes.y].filter(Boolean).join(' × ') || 'parameter')}</h2><div id="heatmap" class="chart-box"></div></section>
    <section class="card" id="robustness-card"><h2>Robustness <span class="muted small">how much to trust the Top 3 (DESIGN §7)</span></h2>
      <div id="robustness"><p class="muted">The analysis is drawn when the sweep has finished.</p></div></section>
    <section class="card"><h2>Trials <span class="muted small" id="trials-count"></span></h2>
      <p class="muted small">Click a column header to sort. Feasible trials are marked ✓.</p>
      <div class="table-wrap" id="trials"></div><div id="trials-pages"></div></section>`;

  // The table shows one page of the trials, sorted by the server over the whole sweep.
  const drawTrials = () => {
    document.getElementById('trials').innerHTML = trialsTable(state.trials, state.sort, names, equivalentOf(state));
    document.getElementById('trials-count').textContent = `(${state.trialsTotal})`;
    document.getElementById('trials-pages').innerHTML = trialsPager(state.offset, state.trials.length, state.trialsTotal, TRIALS_PAGE);
  };
  const loadTrials = async () => {
    const query = new URLSearchParams({
      limit: TRIALS_PAGE, offset: state.offset, sort: state.sort.key, order: state.sort.dir,
    });
    const page = await api(`/api/optimizations/${id}/trials?${query}`);
    if (!isCurrent(token)) return;
    state.trials = page.items;
    state.trialsTotal = page.total;
    drawTrials();
  };
  const showTrialsError = (err) => {
    if (isCurrent(token)) document.getElementById('sweep-error').innerHTML = errorBox(err);
  };
  document.getElementById('trials').addEventListener('click', (event) => {
    const button = event.target.closest('[data-sort]');
    if (!button) return;
    const key = button.dataset.sort;
    state.sort = state.sort.key === key
      ? { key, dir: state.sort.dir === 'asc' ? 'desc' : 'asc' }
      : { key, dir: firstDirection(key) };
    state.offset = 0;
    loadTrials().catch(showTrialsError);
  });
  document.getElementById('trials-pages').addEventListener('click', (event) => {
    const button = event.target.closest('[data-page]');
    if (!button || button.disabled) return;
    const step = button.dataset.page === 'next' ? TRIALS_PAGE : -TRIALS_PAGE;
    state.offset = Math.max(0, state.offset + step);
    loadTrials().catch(showTrialsError);
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
    scatterBox.innerHTML = scatterFor(state.scatter, limit, chartSize(scatterBox), names);
    document.getElementById('heatmap').innerHTML = heatmapsFor(state.aggregates, axes, limit);
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
      drawTrials();
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

  // The charts' summaries, asked again when trials have finished since (and, for a big
  // sweep, at most every few seconds) or once the sweep has ended.
  const chartsDue = (s) => {
    const done = s.counts.completed + s.counts.failed + s.counts.canceled;
    const stamp = `${done}:${s.status}`;
    if (state.chartsAt && state.chartsAt.stamp === stamp) return null;
    const recent = state.chartsAt && Date.now() - state.chartsAt.when < chartsEvery(s.trials_total);
    return recent && ACTIVE.has(s.status) ? null : stamp;
  };
  const loadCharts = (stamp) => Promise.all([
    api(`/api/optimizations/${id}/scatter?limit=1000&top=3`),
    axes.x ? api(`/api/optimizations/${id}/aggregates?${heatmapQuery(axes)}`) : Promise.resolve(null),
  ]).then(([scatter, aggregates]) => {
    state.scatter = scatter;
    state.aggregates = aggregates;
    state.chartsAt = { stamp, when: Date.now() };
  });

  const refresh = async () => {
    const s = state.sweep && !ACTIVE.has(state.sweep.status) ? state.sweep : await api(`/api/optimizations/${id}`);
    if (!isCurrent(token)) return false;
    const stamp = chartsDue(s);
    const [top] = await Promise.all([
      api(`/api/optimizations/${id}/top?n=3`),
      loadTrials(),
      stamp ? loadCharts(stamp) : Promise.resolve(),
    ]);
    if (!isCurrent(token)) return false;
    state.sweep = s;
    state.top = top;
    renderHead(s);
    document.getElementById('top').innerHTML = topTable(top, names, equivalentOf(state));
    drawCharts();
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
