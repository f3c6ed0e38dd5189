// The optimizations list: status, progress and best result so far of every sweep, polled
// while any is active.
import { api } from '../api.js';
import { esc } from '../charts.js';
import { errorBox, pct, progressBar, statusBadge, syntheticBadge, when } from '../format.js';
import {
  ACTIVE, app, currentToken, isCurrent, poll, setTitle,
} from '../router.js';

export async function optimizationsListPage() {
  const token = currentToken();
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
    if (!isCurrent(token) || !holder) return false;
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
