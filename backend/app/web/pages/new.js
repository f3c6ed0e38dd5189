// The new-optimization form: preview the trials a request would create, then start it.
import { api } from '../api.js';
import { esc } from '../charts.js';
import {
  errorBox, ordered, param, PARAM_ORDER,
} from '../format.js';
import { app, setTitle } from '../router.js';

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

export function newOptimizationPage() {
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
      const names = ordered(new Set(data.items.flatMap((t) => Object.keys(t.params))), PARAM_ORDER);
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
