// The Robustness panel of a finished sweep: how much to trust its Top 3, drawn from
// GET /api/optimizations/{id}/analysis (DESIGN §4.2, §7). The numbers each with one line on
// what they mean, the CSCV logit distribution, the plateau map, walk-forward against the
// Top 1 and the baseline, the bootstrap intervals and the verdict. Pure functions from the
// analysis document to HTML/SVG; missing parts (a reason instead of a value) say so.
import {
  esc, heatmap, histogramChart, intervalChart, legend, lineChart, PALETTE,
} from '../charts.js';
import { num, param, pct } from '../format.js';

// Metrics that are fractions shown as percents; the others (ratios) as plain numbers.
const PERCENT_METRICS = new Set(['cagr', 'max_drawdown', 'annual_volatility', 'total_return', 'turnover', 'win_rate']);
const metricText = (metric, v, digits = 2) => (PERCENT_METRICS.has(metric) ? pct(v, digits) : num(v, 3));
const pp = (v) => (v == null || !Number.isFinite(v) ? '–' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)} pp`);
const intervalText = (iv) => (iv ? `${pp(iv.estimate)} [${pp(iv.lower)}, ${pp(iv.upper)}]` : '–');
const containsZero = (iv) => iv && iv.lower <= 0 && iv.upper >= 0;

function measure({ id, label, value, meaning, tone }) {
  return `<div class="measure ${tone ?? ''}" data-measure="${esc(id)}">
    <span class="kpi-label">${esc(label)}</span><span class="kpi-value">${value}</span>
    <p class="meaning">${meaning}</p></div>`;
}

export function measuresHtml(a) {
  const dsr = a.dsr ?? {};
  const pbo = a.pbo ?? {};
  const plateau = a.plateau_summary ?? {};
  const wf = a.walk_forward?.summary ?? null;
  const boot = a.bootstrap ?? {};
  const first = (boot.items ?? [])[0];
  const n = a.distinct_trials;
  const repeated = a.n_trials - a.distinct_trials;
  const edges = (plateau.top1_edges ?? []).map((e) => `${esc(e.axis)} (${esc(e.side)})`).join(', ');
  const items = [
    {
      id: 'distinct',
      label: 'Distinct trials',
      value: `${n} of ${a.n_trials}`,
      meaning: repeated > 0
        ? `${repeated} trial${repeated > 1 ? 's' : ''} had the same daily returns as an earlier one (marked ≡ below); they count once in what follows.`
        : 'Every trial had its own daily returns: none repeats another’s backtest.',
      tone: repeated > 0 ? '' : 'fine', // repeats waste trials; they do not by themselves cast doubt
    },
    {
      id: 'dsr',
      label: 'Deflated Sharpe ratio (Top 1)',
      value: dsr.value == null ? '–' : pct(dsr.value, 1),
      meaning: dsr.value == null
        ? esc(dsr.reason ?? 'not computed')
        : `Probability that run ${esc(dsr.run_id)}’s Sharpe ratio is skill rather than the luck of the best of ${esc(dsr.n_trials)} distinct tries; 95 % is the usual bar.`,
      tone: dsr.value == null ? '' : dsr.value >= 0.95 ? 'fine' : 'alarm',
    },
    {
      id: 'sharpe',
      label: 'Daily Sharpe vs luck (SR0)',
      value: `${num(dsr.sharpe, 4)} vs ${num(dsr.sr0, 4)}`,
      meaning: `The Top 1’s daily (not annualised) Sharpe ratio against SR0, the Sharpe the best of ${esc(dsr.n_trials ?? n)} skill-less trials would reach by chance (their Sharpe variance ${num(dsr.sr_variance, 6)}).`,
    },
    {
      id: 'pbo',
      label: 'Probability of backtest overfitting',
      value: pbo.value == null ? '–' : pct(pbo.value, 1),
      meaning: pbo.value == null
        ? esc(pbo.reason ?? 'not computed')
        : `Share of the ${Number(pbo.combinations ?? 12870).toLocaleString('en-US')} CSCV splits (${esc(pbo.blocks ?? 16)} blocks, half in sample) where the in-sample best landed in the bottom half out of sample; above 50 %: more likely overfit than not.`,
      tone: pbo.value == null ? '' : pbo.value > 0.5 ? 'alarm' : 'fine',
    },
    {
      id: 'plateau',
      label: 'Top 1 on a plateau?',
      value: plateau.top1_stable == null ? '–' : plateau.top1_stable ? 'stable' : 'fragile',
      meaning: plateau.top1_stable == null
        ? esc(plateau.reason ?? 'no lattice to look at')
        : `Worst ${esc(plateau.metric)} over the Top 1 and its neighbours one step away: ${metricText(plateau.metric, plateau.top1_plateau_score)}; stable when all of them meet the constraints.${edges ? ` On the edge of the searched ${edges}: the best may lie outside.` : ''}`,
      tone: plateau.top1_stable == null ? '' : plateau.top1_stable && !edges ? 'fine' : 'alarm',
    },
    {
      id: 'walk-forward',
      label: 'Walk-forward CAGR',
      value: wf?.walk_forward ? pct(wf.walk_forward.cagr) : '–',
      meaning: wf?.walk_forward
        ? `Choosing the best feasible trial at each year end on the data so far and holding it a year; the full-window Top 1 made ${pct(wf.top1?.cagr)} and the baseline ${pct(wf.baseline?.cagr)} over the same years.`
        : esc(a.walk_forward?.reason ?? 'not computed'),
      tone: wf?.walk_forward && wf?.baseline ? (wf.walk_forward.cagr >= wf.baseline.cagr ? 'fine' : 'alarm') : '',
    },
    {
      id: 'bootstrap',
      label: 'Top 1 − baseline CAGR (95 %)',
      value: first ? intervalText(first.cagr_minus_baseline) : '–',
      meaning: first
        ? `From ${Number(boot.resamples ?? 2000).toLocaleString('en-US')} stationary block-bootstrap resamples (mean block ${esc(boot.mean_block ?? 21)} sessions, the same days for every trial); an interval containing 0: no edge over the baseline the data can tell apart${containsZero(first.cagr_minus_baseline) ? '' : first.cagr_minus_baseline?.upper < 0 ? '; here the Top 1 is worse than the baseline' : '; here the Top 1 is better'}.`
        : esc(boot.reason ?? 'not computed'),
      // Green only when the Top 1 is better than the baseline beyond doubt.
      tone: first?.cagr_minus_baseline ? (first.cagr_minus_baseline.lower > 0 ? 'fine' : 'alarm') : '',
    },
    {
      id: 'drawdown-probability',
      label: 'Top 1 meets the drawdown limit',
      value: first?.prob_meets_drawdown == null ? '–' : pct(first.prob_meets_drawdown, 1),
      meaning: boot.drawdown_limit == null
        ? 'The sweep has no drawdown limit.'
        : `Share of the resampled histories in which the Top 1’s max drawdown stays within ${pct(boot.drawdown_limit, 1)}.`,
    },
  ];
  return `<div class="measures" id="robustness-measures">${items.map(measure).join('')}</div>`;
}

export function verdictHtml(a) {
  const v = a.verdict ?? {};
  if (!v.en && !v.zh) return '';
  return `<div class="verdict" id="verdict"><strong>Verdict</strong>
    ${v.en ? `<p class="en" lang="en">${esc(v.en)}</p>` : ''}${v.zh ? `<p class="zh" lang="zh">${esc(v.zh)}</p>` : ''}</div>`;
}

// The panel's frame; drawRobustness fills the chart boxes at their width.
export function robustnessHtml(a) {
  return `${verdictHtml(a)}${measuresHtml(a)}
    <div class="robust-grid">
      <div><h3>CSCV: out-of-sample logit of the in-sample best</h3><div id="pbo-chart" class="chart-box"></div>
        <p class="muted small">λ = ln(ω / (1 − ω)), ω the in-sample best’s out-of-sample rank / (N + 1); red bars (λ ≤ 0): it fell to the bottom half.${a.pbo?.median_logit != null ? ` Median λ ${num(a.pbo.median_logit, 2)}.` : ''}</p></div>
      <div><h3>Walk-forward vs Top 1 vs baseline</h3><div id="wf-chart" class="chart-box"></div></div>
      <div class="wide"><h3>Plateau: worst ${esc(a.plateau_summary?.metric ?? 'objective')} over each trial and its neighbours</h3><div id="plateau-chart"></div></div>
      <div class="wide"><h3>Bootstrap: CAGR differences, 95 % intervals</h3><div id="boot-chart" class="chart-box"></div>
        <div class="table-wrap" id="boot-table"></div></div>
      <div class="wide"><h3>Walk-forward, year by year</h3><div class="table-wrap" id="wf-table"></div></div>
    </div>`;
}

export function drawRobustness(a, sizeOf) {
  const box = (id) => document.getElementById(id);
  if (!box('pbo-chart')) return;
  const bins = (a.pbo?.logit_histogram ?? []).map((b) => ({ ...b, className: b.upper <= 0 ? 'overfit' : '' }));
  box('pbo-chart').innerHTML = histogramChart(bins, {
    ...sizeOf(box('pbo-chart')),
    title: 'distribution of the CSCV logits',
    markX: 0,
    markLabel: 'λ = 0',
    xFormat: (v) => num(v, 1),
    xLabel: 'logit λ',
    yLabel: 'splits',
    empty: a.pbo?.reason ?? 'No CSCV splits.',
  });
  box('wf-chart').innerHTML = walkForwardChart(a.walk_forward, sizeOf(box('wf-chart')));
  box('wf-table').innerHTML = walkForwardTable(a.walk_forward);
  box('plateau-chart').innerHTML = plateauMaps(a.plateau ?? [], a.plateau_summary ?? {});
  box('boot-chart').innerHTML = bootstrapChart(a.bootstrap ?? {}, sizeOf(box('boot-chart')).width);
  box('boot-table').innerHTML = bootstrapTable(a.bootstrap ?? {});
}

function walkForwardChart(wf, size) {
  if (!wf?.equity?.length) return `<p class="muted">${esc(wf?.reason ?? 'No walk-forward.')}</p>`;
  const line = (key) => wf.equity.filter((e) => e[key] != null).map((e) => ({ date: e.date, value: e[key] }));
  const series = [
    { name: 'walk-forward (re-chosen each year)', color: PALETTE[3], points: line('walk_forward') },
    { name: 'Top 1 of the full window', color: PALETTE[0], points: line('top1') },
    { name: 'baseline', color: '#6b7280', dashed: true, points: line('baseline') },
  ].filter((s) => s.points.length);
  return `${lineChart(series, { ...size, title: 'walk-forward, Top 1 and baseline', yFormat: (v) => v.toFixed(2), yLabel: 'growth of 1' })}${legend(series)}`;
}

function walkForwardTable(wf) {
  if (!wf?.years?.length) return '';
  return `<table class="data" id="wf-years"><thead><tr><th>Chosen at</th><th>Held until</th><th>Run</th>
    <th class="num">Walk-forward</th><th class="num">Top 1</th><th class="num">Baseline</th></tr></thead>
    <tbody>${wf.years.map((y) => `<tr><td>${esc(y.decided_at)}</td><td>${esc(y.held_until)}</td>
      <td><a href="#/backtests/${esc(y.chosen_run_id)}">run ${esc(y.chosen_run_id)}</a>${y.feasible ? '' : ' <span class="warn" title="no trial met the constraints on the data so far">(least violating)</span>'}</td>
      <td class="num">${pct(y.held_return)}</td><td class="num">${pct(y.top1_return)}</td><td class="num">${pct(y.baseline_return)}</td></tr>`).join('')}</tbody></table>`;
}

function bootstrapChart(boot, width) {
  const rows = [];
  (boot.items ?? []).forEach((item, i) => {
    const color = PALETTE[i % PALETTE.length];
    const diff = item.cagr_minus_baseline;
    if (diff) rows.push({ label: `#${item.rank} run ${item.run_id} − baseline`, color, ...diff, title: intervalText(diff) });
    const vsFirst = item.cagr_minus_top1;
    if (vsFirst && item.rank > 1) rows.push({ label: `#${item.rank} − #1`, color, ...vsFirst, title: intervalText(vsFirst) });
  });
  return intervalChart(rows, {
    width, title: 'bootstrap intervals of CAGR differences', xFormat: (v) => `${(v * 100).toFixed(1)} pp`,
    xLabel: 'CAGR difference (percentage points); dashed line: no difference', empty: boot.reason ?? 'No bootstrap.',
  });
}

function bootstrapTable(boot) {
  if (!boot.items?.length) return '';
  return `<table class="data" id="boot-table-data"><thead><tr><th>Rank</th><th>Run</th><th>CAGR − baseline</th>
    <th>CAGR − #1</th><th class="num">P(MaxDD within limit)</th></tr></thead><tbody>${boot.items.map((it) => `<tr>
    <td>#${esc(it.rank)}</td><td><a href="#/backtests/${esc(it.run_id)}">run ${esc(it.run_id)}</a></td>
    <td>${intervalText(it.cagr_minus_baseline)}</td><td>${it.rank > 1 ? intervalText(it.cagr_minus_top1) : '–'}</td>
    <td class="num">${pct(it.prob_meets_drawdown, 1)}</td></tr>`).join('')}</tbody></table>`;
}

// One heatmap per combination of the axes beyond the two longest: cells are the plateau
// score, unstable trials marked *, the Top 1 outlined.
function plateauMaps(records, summary) {
  const axes = [...(summary.axes ?? [])];
  if (!axes.length || !records.length) return `<p class="muted">${esc(summary.reason ?? 'No lattice to draw.')}</p>`;
  const order = axes.map((ax, k) => ({ ...ax, k })).sort((p, q) => q.values.length - p.values.length || p.k - q.k);
  const [colAxis, rowAxis, ...panelAxes] = order;
  const byCoords = new Map(records.map((r) => [axes.map((ax) => r.coords[ax.name]).join('|'), r]));
  const scores = records.map((r) => r.plateau_score).filter(Number.isFinite);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  let panels = [{}];
  for (const ax of panelAxes) panels = panels.flatMap((p) => ax.values.map((_, i) => ({ ...p, [ax.name]: i })));
  const metric = summary.metric;
  const draw = (fixed) => heatmap({
    rows: rowAxis ? rowAxis.values.map((_, i) => i) : [0],
    cols: colAxis.values.map((_, i) => i),
    lo,
    hi,
    title: panelAxes.map((ax) => `${ax.name} = ${param(ax.values[fixed[ax.name]])}`).join(', ') || 'plateau',
    rowLabel: rowAxis?.name ?? '',
    colLabel: colAxis.name,
    fmtRow: (i) => (rowAxis ? param(rowAxis.values[i]) : ''),
    fmtCol: (i) => param(colAxis.values[i]),
    cell: (ri, ci) => {
      const coords = { ...fixed, [colAxis.name]: ci, ...(rowAxis ? { [rowAxis.name]: ri } : {}) };
      const record = byCoords.get(axes.map((ax) => coords[ax.name]).join('|'));
      if (!record) return { text: '', title: 'no trial here' };
      const top1 = record.run_id === summary.top1_run_id;
      return {
        value: record.plateau_score,
        text: `${metricText(metric, record.plateau_score, 1)}${record.stable ? '' : '*'}`,
        marked: !record.stable,
        className: top1 ? 'top1' : '',
        title: `run ${record.run_id}${top1 ? ' (Top 1)' : ''}: ${metric} ${metricText(metric, record.objective)}, plateau score ${metricText(metric, record.plateau_score)}${record.stable ? ', stable' : ', not stable (it or a neighbour breaks the constraints)'}`,
      };
    },
  });
  return `<div class="heatmaps" id="plateau-maps">${panels.map(draw).join('')}</div>
    <p class="muted small">Cell: the worst ${esc(metric)} over the trial and its neighbours one lattice step away on one axis.
      * = not stable; outlined: the Top 1${summary.best_stable_run_id != null ? `; the best stable trial is run <a href="#/backtests/${esc(summary.best_stable_run_id)}">${esc(summary.best_stable_run_id)}</a>` : ''}.</p>`;
}

// Equivalence, for the trials table and the Top 3: "≡ run X" when this trial's backtest had
// the same daily returns as run X's (an earlier trial's).
export function equivalenceNote(runId, equivalent) {
  const same = equivalent?.[String(runId)];
  return same == null ? '' : `<span class="equiv" title="identical daily returns: counted once in the analysis">≡ run ${esc(same)}</span>`;
}
