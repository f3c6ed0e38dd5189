// Formatting numbers, dates and the small pieces of HTML every page uses.
import { esc } from './charts.js';

export const pct = (v, digits = 2) => (v == null || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)} %`);
export const num = (v, digits = 3) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(digits));
export const money = (v) => (v == null ? '–' : `$${Math.round(v).toLocaleString('en-US')}`);
export const param = (v) => (v == null ? '–' : String(Number(Number(v).toFixed(6))));

export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function statusBadge(status) {
  return `<span class="badge status-${esc(status)}" data-status="${esc(status)}">${esc(status)}</span>`;
}

export const syntheticBadge = (provenance) => (provenance?.synthetic
  ? `<span class="badge synthetic" title="${esc(provenance.description ?? 'synthetic market data')}">SYNTHETIC data</span>`
  : '');

export function progressBar(fraction, label) {
  const p = Math.max(0, Math.min(1, fraction ?? 0));
  return `<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow="${Math.round(p * 100)}" aria-label="${esc(label ?? 'progress')}">
    <div class="progress-fill" style="width:${(p * 100).toFixed(1)}%"></div>
    <span class="progress-text">${Math.round(p * 100)} %</span></div>`;
}

export function errorBox(err) {
  const message = err instanceof Error ? err.message : String(err);
  return `<div class="error" role="alert"><strong>Error${err?.status ? ` (HTTP ${err.status})` : ''}:</strong>
    <ul>${message.split('\n').map((line) => `<li>${esc(line)}</li>`).join('')}</ul></div>`;
}

// Keys in the preferred order first, the others after them alphabetically.
export function ordered(keys, preferred) {
  const rank = (k) => (preferred.includes(k) ? preferred.indexOf(k) : preferred.length);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// The parameters a sweep varies, from its own stored request: the grid's axes in grid order,
// then the perturbed parameters not already on the grid.
export function sweepParamNames(spec) {
  const search = spec?.search ?? {};
  const names = new Set(Object.keys(search.grid ?? {}));
  for (const name of Object.keys(search.perturbation?.steps ?? {})) names.add(name);
  return ordered(names, PARAM_ORDER);
}

// Display order of the swept parameters (their set comes from the sweep's own request; JSONB
// does not keep key order): these first, any other after them alphabetically.
export const PARAM_ORDER = ['max_exposure', 'vol_target', 'max_weight'];

// Charts are drawn at their box's pixel width so that their text keeps its size on any screen.
export function chartSize(element) {
  const width = Math.max(300, Math.round(element?.clientWidth || 640));
  return { width, height: Math.round(Math.min(340, Math.max(230, width * 0.55))) };
}
