// The new-optimization form: the request's basics, its search space, objective and
// constraints (space-editor.js), a preview of the trials it would create, then start it. An
// API error is shown in words beside the field its `loc` names, and in full below the form.
import { api } from '../api.js';
import { esc } from '../charts.js';
import {
  errorBox, ordered, param, PARAM_ORDER,
} from '../format.js';
import { app, setTitle } from '../router.js';
import {
  errorSlotOf, fieldFor, readSpace, spaceEditorHtml, TUNABLE, typed, wireSpaceEditor,
} from './space-editor.js';

const FORM_FIELDS = [
  { name: 'baseline_run_id', label: 'Baseline run id', inputmode: 'numeric', required: true, placeholder: '615' },
  { name: 'train_job_id', label: 'Train job id', inputmode: 'numeric', required: true, placeholder: '120' },
  { name: 'risk_off_symbols', loc: 'overrides', label: 'Risk-off symbols', value: 'VGSH,IEF,GLD,TLT', help: 'comma list; the first is the cash-like fallback' },
  { name: 'backtest_start', label: 'Window start', type: 'date', help: 'empty: the baseline run’s' },
  { name: 'backtest_end', label: 'Window end', type: 'date', help: 'empty: the baseline run’s' },
  { name: 'max_inflight', label: 'Max in flight', inputmode: 'numeric', value: '8', help: 'backtests running at once' },
  { name: 'top_n', label: 'Top N', inputmode: 'numeric', value: '3', help: 'trials the report ranks' },
];

function basicsHtml(prefill) {
  return FORM_FIELDS.map((f) => `
    <label class="field" for="f-${f.name}">
      <span class="label">${esc(f.label)}${f.required ? ' <span class="req">*</span>' : ''}</span>
      <input id="f-${f.name}" name="${f.name}" type="${f.type ?? 'text'}" data-loc="${f.loc ?? f.name}"
        ${f.inputmode ? `inputmode="${f.inputmode}"` : ''} value="${esc(prefill.get(f.name) ?? f.value ?? '')}"
        placeholder="${esc(f.placeholder ?? '')}" autocomplete="off">
      ${f.help ? `<span class="help">${esc(f.help)}</span>` : ''}<span class="field-error" role="status"></span>
    </label>`).join('');
}

// The request body and the problems the form sees before asking the API.
function formBody(form, baselineValues) {
  const values = Object.fromEntries(new FormData(form).entries());
  const body = {
    baseline_run_id: typed(values.baseline_run_id),
    train_job_id: typed(values.train_job_id),
  };
  if (values.backtest_start) body.backtest_start = values.backtest_start;
  if (values.backtest_end) body.backtest_end = values.backtest_end;
  const riskOff = (values.risk_off_symbols ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (riskOff.length) body.overrides = { risk_off_symbols: riskOff.join(',') };
  for (const name of ['max_inflight', 'top_n']) {
    if ((values[name] ?? '').trim()) body[name] = typed(values[name]);
  }
  const { search, objective, constraints, problems } = readSpace(form, baselineValues);
  Object.assign(body, { search, objective, constraints });
  return { body, problems };
}

function previewHtml(data) {
  const counts = data.items.reduce((acc, t) => ({ ...acc, [t.source]: (acc[t.source] ?? 0) + 1 }), {});
  const names = ordered(new Set(data.items.flatMap((t) => Object.keys(t.params))), PARAM_ORDER);
  return `<h2>Preview: <span id="preview-count">${data.trials_total}</span> trials <span class="warn small" id="preview-stale" hidden>· the form changed since this preview</span></h2>
    <p class="muted">${Object.entries(counts).map(([k, v]) => `${v} ${esc(k)}`).join(' + ')}, no two
      running the same backtest. Nothing is stored until you start the optimization.</p>
    <div class="table-wrap"><table class="data" id="preview-table">
      <thead><tr><th>#</th><th>Source</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>Window</th></tr></thead>
      <tbody>${data.items.map((t) => {
        const algo = t.request?.params?.algorithm_parameters ?? {};
        // A parameter the trial does not search runs at the baseline's value: shown grey.
        const cell = (n) => (n in t.params ? param(t.params[n])
          : `<span class="muted" title="not searched by this trial: the baseline’s value">${param(algo[n])}</span>`);
        return `<tr><td class="num">${t.trial_index}</td><td><span class="source ${esc(t.source)}">${esc(t.source)}</span></td>
          ${names.map((n) => `<td class="num">${cell(n)}</td>`).join('')}
          <td>${esc(algo.backtest_start ?? '')} → ${esc(algo.backtest_end ?? '')}</td></tr>`;
      }).join('')}</tbody></table></div>`;
}

export function newOptimizationPage() {
  setTitle('New optimization');
  const prefill = new URLSearchParams(location.hash.split('?')[1] ?? '');
  app.innerHTML = `
    <div class="page-head"><h1>New optimization</h1></div>
    <section class="card">
      <p class="muted">Every trial is the baseline run’s backtest with the searched parameters set to
        the trial’s values. It starts as the seed’s space (an 18-point grid plus 12 perturbations
        around the baseline run’s values, CAGR under a 15 % drawdown limit); change any of it.</p>
      <form id="opt-form" novalidate>
        <div class="form-grid">${basicsHtml(prefill)}</div>
        ${spaceEditorHtml()}
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
  const busy = (on) => form.querySelectorAll('.actions button').forEach((b) => { b.disabled = on; });
  let baselineValues = {};
  wireSpaceEditor(form);

  // The baseline run's values of the tunable parameters: the base of any perturbed parameter
  // left empty (shown as the placeholder).
  const loadBaseline = async () => {
    baselineValues = {};
    const id = form.querySelector('#f-baseline_run_id').value.trim();
    if (/^\d+$/.test(id)) {
      try {
        const run = await api(`/api/backtests/${id}`);
        const algorithm = run.params?.algorithm_parameters ?? {};
        baselineValues = Object.fromEntries(TUNABLE.filter((n) => algorithm[n] != null).map((n) => [n, algorithm[n]]));
      } catch { /* the API names an unknown run when the form is sent */ }
    }
    form.querySelectorAll('[data-row="perturbation"]').forEach((row) => {
      const value = baselineValues[row.querySelector('.p-name').value];
      row.querySelector('.p-base').placeholder = value != null ? `baseline ${param(value)}` : 'baseline’s';
    });
  };
  form.querySelector('#f-baseline_run_id').addEventListener('change', loadBaseline);
  form.addEventListener('change', (event) => { if (event.target.matches('.p-name')) loadBaseline(); });
  form.addEventListener('click', (event) => { if (event.target.matches('#add-perturbation')) loadBaseline(); });
  // Any edit after a preview (typing, a row added or removed) says the preview is stale.
  const markStale = () => {
    const stale = document.getElementById('preview-stale');
    if (stale) stale.hidden = false;
  };
  form.addEventListener('input', markStale);
  form.addEventListener('change', markStale);
  form.addEventListener('click', (event) => {
    if (event.target.matches('[data-remove], #add-grid, #add-perturbation, #add-constraint')) markStale();
  });
  loadBaseline();

  const clearErrors = () => {
    errorHolder.innerHTML = '';
    form.querySelectorAll('.invalid').forEach((el) => el.classList.remove('invalid'));
    form.querySelectorAll('.field-error').forEach((el) => { el.textContent = ''; });
  };
  // Each error beside its field; all of them in the box below the form.
  const showErrors = (items) => {
    for (const { loc, msg } of items) {
      const target = fieldFor(form, loc, msg);
      if (!target) continue;
      if (target.matches('input, select')) target.classList.add('invalid');
      const slot = errorSlotOf(target);
      if (slot) slot.textContent = [slot.textContent, msg].filter(Boolean).join(' · ');
    }
  };
  const fail = (err) => {
    const detail = Array.isArray(err?.detail) ? err.detail : [];
    // A 404/409 names its record in words ("backtest run 999 not found", "train job 120 is
    // running"): shown beside the id field it came from.
    if (typeof err?.detail === 'string') {
      const field = /^backtest run \d+/.test(err.detail) ? 'baseline_run_id' : /^train job \d+/.test(err.detail) ? 'train_job_id' : null;
      if (field) detail.push({ loc: [field], msg: err.detail });
    }
    showErrors(detail.map((item) => ({
      loc: (item.loc ?? []).filter((part, i) => !(i === 0 && part === 'body')),
      msg: String(item.msg ?? '').replace(/^Value error, /, ''),
    })));
    errorHolder.innerHTML = errorBox(err);
  };
  // The form's own findings stop the request: the API would only see the last of two rows.
  const request = () => {
    clearErrors();
    const { body, problems } = formBody(form, baselineValues);
    if (!problems.length) return body;
    showErrors(problems);
    errorHolder.innerHTML = errorBox(new Error(problems.map((p) => `${p.loc.join('.')}: ${p.msg}`).join('\n')));
    return null;
  };

  document.getElementById('preview-btn').addEventListener('click', async () => {
    const body = request();
    if (!body) { preview.hidden = true; return; }
    busy(true);
    try {
      const data = await api('/api/optimizations/preview', { method: 'POST', body });
      preview.hidden = false;
      preview.innerHTML = previewHtml(data);
    } catch (err) {
      preview.hidden = true;
      fail(err);
    } finally {
      busy(false);
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = request();
    if (!body) return;
    busy(true);
    try {
      const created = await api('/api/optimizations', { method: 'POST', body });
      location.hash = `#/optimizations/${created.id}`;
    } catch (err) {
      fail(err);
      busy(false);
    }
  });
}
