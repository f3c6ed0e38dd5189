// The editable parts of a sweep request: the search space (grid values per parameter, the
// perturbation's base, steps, count and radius), the objective and the constraints. Each
// editor draws rows of inputs, reads them back into the request's JSON shape (DESIGN §4.2),
// and names the input an API error's `loc` points to (fieldFor), so the form can show the
// message beside it.
import { esc } from '../charts.js';

// What the API accepts (app.schemas.optimizations: TUNABLE_PARAMETERS, METRIC_COLUMNS).
export const TUNABLE = ['max_exposure', 'vol_target', 'max_weight', 'top_n', 'vol_lookback'];
export const METRICS = [
  'cagr', 'max_drawdown', 'sharpe', 'sortino', 'annual_volatility', 'total_return',
  'net_profit', 'total_fees', 'turnover', 'win_rate',
];
export const OPS = ['<=', '<', '>=', '>', '=='];

// The seed's space (app.services.backtest_opt_train120), the form's starting point.
export const SEED_SPACE = {
  grid: [
    ['max_exposure', '0.60, 0.70, 0.80'],
    ['vol_target', '0.045, 0.050, 0.055'],
    ['max_weight', '0.030, 0.040'],
  ],
  perturbation: {
    rows: [['max_exposure', '', '0.05'], ['vol_target', '', '0.005'], ['max_weight', '', '0.005']],
    count: '12',
    radius: '1',
  },
  objective: { metric: 'cagr', direction: 'max' },
  constraints: [['max_drawdown', '<=', '0.15']],
};

const options = (values, selected) => values
  .map((v) => `<option value="${esc(v)}"${v === selected ? ' selected' : ''}>${esc(v)}</option>`).join('');

// A typed number as a JSON number; anything else is sent as typed, so the API names it.
export function typed(text) {
  const t = String(text ?? '').trim();
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : t;
}

const errorSlot = '<span class="field-error" role="status"></span>';

export function gridRow([name, values] = ['', '']) {
  return `<div class="space-row" data-row="grid">
    <label><span class="label">Parameter</span><select class="p-name" aria-label="grid parameter">${options(TUNABLE, name || TUNABLE[0])}</select></label>
    <label class="grow"><span class="label">Values</span><input class="p-values" aria-label="grid values" value="${esc(values)}" placeholder="0.6, 0.7, 0.8" autocomplete="off">${errorSlot}</label>
    <button type="button" class="remove" data-remove title="remove this parameter" aria-label="remove">✕</button></div>`;
}

export function perturbationRow([name, base, step] = ['', '', '']) {
  return `<div class="space-row" data-row="perturbation">
    <label><span class="label">Parameter</span><select class="p-name" aria-label="perturbed parameter">${options(TUNABLE, name || TUNABLE[0])}</select></label>
    <label><span class="label">Base</span><input class="p-base" aria-label="perturbation base" value="${esc(base)}" placeholder="baseline’s" autocomplete="off">${errorSlot}</label>
    <label><span class="label">Step</span><input class="p-step" aria-label="perturbation step" value="${esc(step)}" autocomplete="off">${errorSlot}</label>
    <button type="button" class="remove" data-remove title="remove this parameter" aria-label="remove">✕</button></div>`;
}

export function constraintRow([metric, op, value] = ['max_drawdown', '<=', '']) {
  return `<div class="space-row" data-row="constraint">
    <label><span class="label">Metric</span><select class="c-metric" aria-label="constraint metric">${options(METRICS, metric)}</select></label>
    <label><span class="label">Op</span><select class="c-op" aria-label="constraint operator">${options(OPS, op)}</select></label>
    <label><span class="label">Value</span><input class="c-value" aria-label="constraint value" value="${esc(value)}" autocomplete="off">${errorSlot}</label>
    <button type="button" class="remove" data-remove title="remove this constraint" aria-label="remove">✕</button></div>`;
}

// The three editors as HTML, filled with `space` (SEED_SPACE's shape).
export function spaceEditorHtml(space = SEED_SPACE) {
  const p = space.perturbation;
  return `<div class="space" data-loc="search" data-slot-own>
  <fieldset class="editor" id="grid-editor" data-loc="search.grid">
    <legend>Grid <span class="help">every combination of these values is one trial</span></legend>
    <div class="rows" id="grid-rows">${space.grid.map(gridRow).join('')}</div>
    <button type="button" id="add-grid">+ grid parameter</button>${errorSlot}
  </fieldset>
  <fieldset class="editor" id="perturbation-editor" data-loc="search.perturbation">
    <legend><label><input type="checkbox" id="use-perturbation" ${p ? 'checked' : ''}> Perturbation</label>
      <span class="help">lattice points base ± k·step (|k| ≤ radius), nearest first; never a grid trial’s backtest again</span></legend>
    <div class="rows" id="perturbation-rows">${(p?.rows ?? []).map(perturbationRow).join('')}</div>
    <button type="button" id="add-perturbation">+ perturbed parameter</button>
    <div class="inline-fields">
      <label class="field"><span class="label">Count</span><input id="f-perturbation-count" data-loc="search.perturbation.count" value="${esc(p?.count ?? '12')}" inputmode="numeric" autocomplete="off">${errorSlot}</label>
      <label class="field"><span class="label">Radius (steps)</span><input id="f-perturbation-radius" data-loc="search.perturbation.radius" value="${esc(p?.radius ?? '1')}" inputmode="numeric" autocomplete="off">${errorSlot}</label>
    </div>${errorSlot}
  </fieldset>${errorSlot}</div>
  <fieldset class="editor" id="objective-editor" data-loc="objective">
    <legend>Objective</legend>
    <div class="inline-fields">
      <label class="field"><span class="label">Metric</span><select id="f-objective-metric" data-loc="objective.metric">${options(METRICS, space.objective.metric)}</select>${errorSlot}</label>
      <label class="field"><span class="label">Direction</span><select id="f-objective-direction" data-loc="objective.direction">${options(['max', 'min'], space.objective.direction)}</select>${errorSlot}</label>
    </div>
  </fieldset>
  <fieldset class="editor" id="constraints-editor" data-loc="constraints">
    <legend>Constraints <span class="help">a trial is feasible when all hold; none: every trial is</span></legend>
    <div class="rows" id="constraint-rows">${space.constraints.map(constraintRow).join('')}</div>
    <button type="button" id="add-constraint">+ constraint</button>${errorSlot}
  </fieldset>`;
}

// Buttons that add and remove rows, and the perturbation switch.
export function wireSpaceEditor(root) {
  const add = (id, holder, html) => root.querySelector(id).addEventListener('click', () => {
    root.querySelector(holder).insertAdjacentHTML('beforeend', html());
    root.querySelector(`${holder} .space-row:last-child input`)?.focus();
  });
  add('#add-grid', '#grid-rows', () => gridRow([unusedName(root, '#grid-rows'), '']));
  add('#add-perturbation', '#perturbation-rows', () => perturbationRow([unusedName(root, '#perturbation-rows'), '', '']));
  add('#add-constraint', '#constraint-rows', () => constraintRow());
  root.addEventListener('click', (event) => {
    if (event.target.matches('[data-remove]')) event.target.closest('.space-row').remove();
  });
  const toggle = () => {
    const on = root.querySelector('#use-perturbation').checked;
    root.querySelector('#perturbation-editor').classList.toggle('off', !on);
    root.querySelectorAll('#perturbation-editor input:not(#use-perturbation), #perturbation-editor select, #perturbation-editor button')
      .forEach((el) => { el.disabled = !on; });
  };
  root.querySelector('#use-perturbation').addEventListener('change', toggle);
  toggle();
}

function unusedName(root, holder) {
  const used = new Set([...root.querySelectorAll(`${holder} .p-name`)].map((s) => s.value));
  return TUNABLE.find((n) => !used.has(n)) ?? TUNABLE[0];
}

const rowsOf = (root, holder) => [...root.querySelectorAll(`${holder} .space-row`)];
const splitValues = (text) => String(text).split(/[\s,;]+/).filter(Boolean).map(typed);

// The request's search, objective and constraints, plus the problems the form can see itself
// (a parameter listed twice) as [{loc, msg}] in the API's loc style.
export function readSpace(root, baselineValues = {}) {
  const problems = [];
  const grid = {};
  for (const row of rowsOf(root, '#grid-rows')) {
    const name = row.querySelector('.p-name').value;
    if (name in grid) problems.push({ loc: ['search', 'grid', name], msg: `${name} is listed twice in the grid` });
    grid[name] = splitValues(row.querySelector('.p-values').value);
  }
  let perturbation = null;
  if (root.querySelector('#use-perturbation').checked) {
    const steps = {};
    const base = {};
    for (const row of rowsOf(root, '#perturbation-rows')) {
      const name = row.querySelector('.p-name').value;
      if (name in steps) problems.push({ loc: ['search', 'perturbation', 'steps', name], msg: `${name} is listed twice in the perturbation` });
      steps[name] = typed(row.querySelector('.p-step').value);
      const typedBase = row.querySelector('.p-base').value.trim();
      if (typedBase) base[name] = typed(typedBase);
    }
    perturbation = { steps, count: typed(root.querySelector('#f-perturbation-count').value) };
    const radius = root.querySelector('#f-perturbation-radius').value.trim();
    if (radius) perturbation.radius = typed(radius);
    // A base for some parameters only: the others keep the baseline run's value, which the
    // API needs spelled out (a base names all the perturbed parameters or none).
    if (Object.keys(base).length) {
      for (const name of Object.keys(steps)) {
        if (!(name in base) && baselineValues[name] != null) base[name] = baselineValues[name];
      }
      perturbation.base = base;
    }
  }
  const search = {};
  if (Object.keys(grid).length) search.grid = grid;
  if (perturbation) search.perturbation = perturbation;
  const objective = {
    metric: root.querySelector('#f-objective-metric').value,
    direction: root.querySelector('#f-objective-direction').value,
  };
  const constraints = rowsOf(root, '#constraint-rows').map((row) => ({
    metric: row.querySelector('.c-metric').value,
    op: row.querySelector('.c-op').value,
    value: typed(row.querySelector('.c-value').value),
  }));
  return { search, objective, constraints, problems };
}

// Where a message about a whole dict goes: the row of the parameter it names.
const ROW_KEYS = {
  search: ['search.grid', 'search.perturbation.steps'],
  'search.grid': ['search.grid'],
  'search.perturbation': ['search.perturbation.steps', 'search.perturbation.base'],
  'search.perturbation.steps': ['search.perturbation.steps'],
  'search.perturbation.base': ['search.perturbation.base', 'search.perturbation.steps'],
};

// The error slot beside an input, or a fieldset's own.
export function errorSlotOf(el) {
  if (!el) return null;
  if (el.matches('fieldset, [data-slot-own]')) return el.querySelector(':scope > .field-error');
  return el.closest('label')?.querySelector('.field-error') ?? null;
}

// The input (and its error slot) an API error's loc (without "body") points to: the longest
// prefix of the loc that names an input of the form. Dict-level messages ("max_exposure must
// be in (0, 1]") go to the row of the parameter they name.
export function fieldFor(root, loc, msg = '') {
  const targets = new Map();
  root.querySelectorAll('[data-loc]').forEach((el) => targets.set(el.dataset.loc, el));
  rowsOf(root, '#grid-rows').forEach((row) => {
    targets.set(`search.grid.${row.querySelector('.p-name').value}`, row.querySelector('.p-values'));
  });
  rowsOf(root, '#perturbation-rows').forEach((row) => {
    const name = row.querySelector('.p-name').value;
    targets.set(`search.perturbation.steps.${name}`, row.querySelector('.p-step'));
    targets.set(`search.perturbation.base.${name}`, row.querySelector('.p-base'));
  });
  rowsOf(root, '#constraint-rows').forEach((row, i) => {
    targets.set(`constraints.${i}`, row.querySelector('.c-value'));
    targets.set(`constraints.${i}.metric`, row.querySelector('.c-metric'));
    targets.set(`constraints.${i}.op`, row.querySelector('.c-op'));
    targets.set(`constraints.${i}.value`, row.querySelector('.c-value'));
  });
  const parts = loc.map(String);
  for (let n = parts.length; n > 0; n -= 1) {
    const key = parts.slice(0, n).join('.');
    for (const rowKey of ROW_KEYS[key] ?? []) {
      const named = TUNABLE.find((name) => new RegExp(`\\b${name}\\b`).test(msg) && targets.has(`${rowKey}.${name}`));
      if (named) return targets.get(`${rowKey}.${named}`);
    }
    if (targets.has(key)) return targets.get(key);
  }
  return null;
}
