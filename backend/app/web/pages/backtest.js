// A backtest run: its facts, equity and drawdown curves, LEAN statistics and parameters.
import { api } from '../api.js';
import { esc, lineChart } from '../charts.js';
import {
  chartSize, errorBox, money, ordered, pct, statusBadge, syntheticBadge, when,
} from '../format.js';
import {
  ACTIVE, app, currentToken, isCurrent, onResize, poll, setTitle,
} from '../router.js';

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

const HEADLINE_STATS = ['Compounding Annual Return', 'Drawdown', 'Sharpe Ratio', 'Net Profit', 'Total Orders', 'Total Fees'];

export async function backtestPage(id) {
  const token = currentToken();
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
    if (!isCurrent(token)) return false;
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
        if (!isCurrent(token)) return false;
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
        onResize(draw);
      } catch (err) {
        document.getElementById('bt-equity').innerHTML = errorBox(err);
        document.getElementById('bt-drawdown').innerHTML = '';
      }
    }
    return ACTIVE.has(run.status);
  };
  if (await render()) poll(token, render);
}
