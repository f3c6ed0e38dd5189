// Small SVG charts: line (time series), scatter and heatmap. Each function returns an SVG
// string sized by its viewBox, so it scales with its container (width: 100%).

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#7c3aed', '#db2777', '#0891b2'];

export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

// "Nice" tick values covering [lo, hi], about `count` of them (Heckbert's algorithm).
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 0.01;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(count, 1);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
  const ticks = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toFixed(12)));
  }
  if (ticks[0] > lo) ticks.unshift(Number((ticks[0] - step).toFixed(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toFixed(12)));
  return ticks;
}

function scale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

const W = 640;
const H = 320;
const M = { top: 16, right: 16, bottom: 40, left: 64 };

function frame(title, body, { width = W, height = H } = {}) {
  return `<svg xmlns="${NS}" class="chart" viewBox="0 0 ${width} ${height}" role="img"
    aria-label="${esc(title)}" preserveAspectRatio="xMidYMid meet">${body}</svg>`;
}

function yAxis(ticks, y, fmt, x0, x1) {
  return ticks.map((t) => `
    <line class="grid" x1="${x0}" x2="${x1}" y1="${y(t)}" y2="${y(t)}"/>
    <text class="tick" x="${x0 - 6}" y="${y(t)}" text-anchor="end" dominant-baseline="middle">${esc(fmt(t))}</text>`).join('');
}

function xAxisNumeric(ticks, x, fmt, y0) {
  return ticks.map((t) => `
    <line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${M.top}" y2="${y0}"/>
    <text class="tick" x="${x(t)}" y="${y0 + 16}" text-anchor="middle">${esc(fmt(t))}</text>`).join('');
}

function axisLabels(xLabel, yLabel, width, height) {
  return `
    <text class="axis-label" x="${(M.left + width - M.right) / 2}" y="${height - 4}" text-anchor="middle">${esc(xLabel)}</text>
    <text class="axis-label" transform="translate(12 ${(M.top + height - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`;
}

// Time ticks: first days of months, spaced so that about `count` fit.
function timeTicks(t0, t1, count = 6) {
  const months = (t1 - t0) / (30.44 * 86400e3);
  const stepOptions = [1, 2, 3, 6, 12, 24, 60];
  const step = stepOptions.find((s) => months / s <= count) ?? 120;
  const start = new Date(t0);
  let d = new Date(Date.UTC(start.getUTCFullYear(), 0, 1));
  const ticks = [];
  while (d.getTime() <= t1) {
    if (d.getTime() >= t0) ticks.push(d.getTime());
    d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + step, 1));
  }
  return ticks;
}

function monthLabel(t) {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * Time-series lines. series: [{name, color, points: [{date: 'YYYY-MM-DD', value}], dashed, area}]
 * opts: {title, yFormat, yLabel, invert (draw values downward, for drawdowns)}
 */
export function lineChart(series, opts = {}) {
  const width = opts.width ?? W;
  const height = opts.height ?? H;
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<p class="muted">No data to draw.</p>`;
  const times = all.map((p) => Date.parse(p.date));
  const values = all.map((p) => p.value);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (opts.zeroBased) lo = Math.min(lo, 0);
  const ticks = niceTicks(lo, hi, 5);
  lo = ticks[0];
  hi = ticks[ticks.length - 1];
  const x = scale(t0, t1, M.left, width - M.right);
  const y = opts.invert
    ? scale(lo, hi, M.top, height - M.bottom)
    : scale(lo, hi, height - M.bottom, M.top);
  const fmt = opts.yFormat ?? ((v) => v.toLocaleString());
  let body = yAxis(ticks, y, fmt, M.left, width - M.right);
  body += timeTicks(t0, t1).map((t) => `
    <line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${M.top}" y2="${height - M.bottom}"/>
    <text class="tick" x="${x(t)}" y="${height - M.bottom + 16}" text-anchor="middle">${monthLabel(t)}</text>`).join('');
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const coords = s.points.map((p) => `${x(Date.parse(p.date)).toFixed(1)},${y(p.value).toFixed(1)}`);
    if (!coords.length) return;
    if (s.area) {
      const base = y(opts.invert ? lo : Math.max(lo, 0));
      body += `<path class="area" fill="${color}" d="M${coords[0].split(',')[0]},${base} L${coords.join(' L')} L${coords[coords.length - 1].split(',')[0]},${base} Z"/>`;
    }
    body += `<polyline class="line${s.dashed ? ' dashed' : ''}" stroke="${color}" points="${coords.join(' ')}"><title>${esc(s.name)}</title></polyline>`;
  });
  body += `<line class="axis" x1="${M.left}" x2="${width - M.right}" y1="${height - M.bottom}" y2="${height - M.bottom}"/>`;
  body += `<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${height - M.bottom}"/>`;
  if (opts.yLabel) body += axisLabels('', opts.yLabel, width, height);
  return frame(opts.title ?? 'line chart', body, { width, height });
}

export function legend(series) {
  return `<ul class="legend">${series.map((s, i) => `
    <li><span class="swatch${s.dashed ? ' dashed' : ''}" style="--c:${s.color ?? PALETTE[i % PALETTE.length]}"></span>${esc(s.name)}</li>`).join('')}</ul>`;
}

/**
 * Scatter of points [{x, y, label, className, title, r}] with an optional vertical
 * constraint line at opts.limitX (feasible region to its left, shaded).
 */
export function scatterChart(points, opts = {}) {
  const width = opts.width ?? W;
  const height = opts.height ?? H;
  if (!points.length) return `<p class="muted">No completed trials yet.</p>`;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  if (opts.limitX != null) xs.push(opts.limitX);
  const xt = niceTicks(Math.min(0, ...xs), Math.max(...xs), 6);
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const x = scale(xt[0], xt[xt.length - 1], M.left, width - M.right);
  const y = scale(yt[0], yt[yt.length - 1], height - M.bottom, M.top);
  const fx = opts.xFormat ?? String;
  const fy = opts.yFormat ?? String;
  let body = '';
  if (opts.limitX != null) {
    const lx = x(opts.limitX);
    body += `<rect class="feasible-zone" x="${M.left}" y="${M.top}" width="${Math.max(lx - M.left, 0)}" height="${height - M.bottom - M.top}"/>`;
  }
  body += yAxis(yt, y, fy, M.left, width - M.right) + xAxisNumeric(xt, x, fx, height - M.bottom);
  if (opts.limitX != null) {
    const lx = x(opts.limitX);
    body += `<line class="limit" x1="${lx}" x2="${lx}" y1="${M.top}" y2="${height - M.bottom}"/>
      <text class="limit-label" x="${lx - 5}" y="${height - M.bottom - 6}" text-anchor="end">${esc(opts.limitLabel ?? '')}</text>`;
  }
  // Labelled points drawn last (on top); labels of points at the same spot merged ("#1, #2").
  const ordered = [...points].sort((a, b) => Boolean(a.label) - Boolean(b.label));
  const labels = new Map();
  for (const p of ordered) {
    const cx = x(p.x);
    const cy = y(p.y);
    const r = p.r ?? 5;
    const title = `<title>${esc(p.title ?? '')}</title>`;
    body += p.shape === 'diamond'
      ? `<rect class="dot ${p.className ?? ''}" x="${(cx - r).toFixed(1)}" y="${(cy - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" transform="rotate(45 ${cx.toFixed(1)} ${cy.toFixed(1)})">${title}</rect>`
      : `<circle class="dot ${p.className ?? ''}" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r}">${title}</circle>`;
    if (p.label) {
      const spot = `${Math.round(cx / 4)}:${Math.round(cy / 4)}`;
      const entry = labels.get(spot) ?? { cx, cy, texts: [] };
      entry.texts.push(p.label);
      labels.set(spot, entry);
    }
  }
  for (const { cx, cy, texts } of labels.values()) {
    const anchor = cx > width - M.right - 60 ? 'end' : 'start';
    const dx = anchor === 'end' ? -9 : 9;
    body += `<text class="dot-label" x="${(cx + dx).toFixed(1)}" y="${(cy - 9).toFixed(1)}" text-anchor="${anchor}">${esc(texts.sort().join(', '))}</text>`;
  }
  body += axisLabels(opts.xLabel ?? '', opts.yLabel ?? '', width, height);
  return frame(opts.title ?? 'scatter chart', body, { width, height });
}

// Sequential red-yellow-green colour for v in [lo, hi] (lowest red, highest green): light
// enough everywhere for dark text.
const STOPS = [[248, 105, 107], [255, 235, 132], [99, 190, 123]];
export function scaleColor(v, lo, hi) {
  if (v == null || !Number.isFinite(v)) return '#e5e7eb';
  const t = hi > lo ? Math.max(0, Math.min(1, (v - lo) / (hi - lo))) : 1;
  const [a, b, f] = t < 0.5 ? [STOPS[0], STOPS[1], t * 2] : [STOPS[1], STOPS[2], (t - 0.5) * 2];
  const mix = (i) => Math.round(a[i] + (b[i] - a[i]) * f);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

export function colorScaleLegend(lo, hi, fmt) {
  return `<span class="scale-legend"><span>${esc(fmt(lo))}</span><span class="scale-bar"
    style="background:linear-gradient(90deg,${scaleColor(lo, lo, hi)},${scaleColor((lo + hi) / 2, lo, hi)},${scaleColor(hi, lo, hi)})"></span><span>${esc(fmt(hi))}</span></span>`;
}

/**
 * One heatmap panel: rows x cols cells, cell(r, c) -> {value, text, title, marked, className}.
 */
export function heatmap({ rows, cols, cell, rowLabel, colLabel, title, lo, hi, fmtRow, fmtCol }) {
  const cw = 78;
  const ch = 44;
  const left = 70;
  const top = 30;
  const width = left + cols.length * cw + 10;
  const height = top + rows.length * ch + 44;
  let body = `<text class="panel-title" x="${left}" y="16">${esc(title)}</text>`;
  rows.forEach((r, i) => {
    body += `<text class="tick" x="${left - 6}" y="${top + i * ch + ch / 2}" text-anchor="end" dominant-baseline="middle">${esc(fmtRow(r))}</text>`;
    cols.forEach((c, j) => {
      const info = cell(r, c) ?? {};
      const fill = scaleColor(info.value, lo, hi);
      body += `<g class="cell${info.marked ? ' marked' : ''}${info.className ? ` ${esc(info.className)}` : ''}">
        <rect x="${left + j * cw}" y="${top + i * ch}" width="${cw - 2}" height="${ch - 2}" rx="3" fill="${fill}"><title>${esc(info.title ?? '')}</title></rect>
        <text class="cell-text" x="${left + j * cw + cw / 2 - 1}" y="${top + i * ch + ch / 2}" text-anchor="middle" dominant-baseline="middle">${esc(info.text ?? '–')}</text></g>`;
    });
  });
  cols.forEach((c, j) => {
    body += `<text class="tick" x="${left + j * cw + cw / 2}" y="${top + rows.length * ch + 14}" text-anchor="middle">${esc(fmtCol(c))}</text>`;
  });
  body += `<text class="axis-label" x="${left + (cols.length * cw) / 2}" y="${height - 6}" text-anchor="middle">${esc(colLabel)}</text>`;
  body += `<text class="axis-label" transform="translate(12 ${top + (rows.length * ch) / 2}) rotate(-90)" text-anchor="middle">${esc(rowLabel)}</text>`;
  return frame(title, body, { width, height });
}

/**
 * Histogram bars [{lower, upper, count, className}] over a numeric x axis, with an optional
 * vertical marker at opts.markX (labelled opts.markLabel).
 */
export function histogramChart(bins, opts = {}) {
  const width = opts.width ?? W;
  const height = opts.height ?? H;
  if (!bins.length) return `<p class="muted">${esc(opts.empty ?? 'No data to draw.')}</p>`;
  const lo = Math.min(...bins.map((b) => b.lower));
  const hi = Math.max(...bins.map((b) => b.upper));
  const xt = niceTicks(lo, hi, 6).filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
  const yt = niceTicks(0, Math.max(1, ...bins.map((b) => b.count)), 4);
  const x = scale(lo, hi, M.left, width - M.right);
  const y = scale(0, yt[yt.length - 1], height - M.bottom, M.top);
  const fx = opts.xFormat ?? String;
  let body = yAxis(yt, y, opts.yFormat ?? String, M.left, width - M.right);
  body += xAxisNumeric(xt, x, fx, height - M.bottom);
  for (const b of bins) {
    const x0 = x(b.lower) + 0.5;
    const w = Math.max(x(b.upper) - x(b.lower) - 1, 0.5);
    body += `<rect class="bar ${b.className ?? ''}" x="${x0.toFixed(1)}" y="${y(b.count).toFixed(1)}" width="${w.toFixed(1)}"
      height="${(y(0) - y(b.count)).toFixed(1)}"><title>${esc(b.title ?? `${fx(b.lower)} … ${fx(b.upper)}: ${b.count}`)}</title></rect>`;
  }
  if (opts.markX != null && opts.markX >= lo && opts.markX <= hi) {
    const mx = x(opts.markX);
    body += `<line class="limit" x1="${mx}" x2="${mx}" y1="${M.top}" y2="${height - M.bottom}"/>
      <text class="limit-label" x="${mx + 5}" y="${M.top + 12}">${esc(opts.markLabel ?? '')}</text>`;
  }
  body += `<line class="axis" x1="${M.left}" x2="${width - M.right}" y1="${y(0)}" y2="${y(0)}"/>`;
  body += axisLabels(opts.xLabel ?? '', opts.yLabel ?? '', width, height);
  return frame(opts.title ?? 'histogram', body, { width, height });
}

/**
 * Intervals on a common numeric axis, one row each: [{label, estimate, lower, upper, color,
 * title}], with a reference line at opts.refX (0 by default): a forest plot.
 */
export function intervalChart(rows, opts = {}) {
  const width = opts.width ?? W;
  const rowH = 34;
  const left = opts.labelWidth ?? 170;
  const top = 10;
  const height = top + rows.length * rowH + 40;
  if (!rows.length) return `<p class="muted">${esc(opts.empty ?? 'No intervals.')}</p>`;
  const refX = opts.refX ?? 0;
  const values = rows.flatMap((r) => [r.lower, r.upper, r.estimate]).filter(Number.isFinite);
  const xt = niceTicks(Math.min(refX, ...values), Math.max(refX, ...values), 6);
  const x = scale(xt[0], xt[xt.length - 1], left, width - M.right);
  const fx = opts.xFormat ?? String;
  const bottom = top + rows.length * rowH;
  let body = xt.map((t) => `
    <line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${bottom}"/>
    <text class="tick" x="${x(t)}" y="${bottom + 16}" text-anchor="middle">${esc(fx(t))}</text>`).join('');
  body += `<line class="ref" x1="${x(refX)}" x2="${x(refX)}" y1="${top}" y2="${bottom}"/>`;
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    const color = r.color ?? PALETTE[i % PALETTE.length];
    body += `<g class="interval"><title>${esc(r.title ?? '')}</title>
      <text class="tick interval-label" x="${left - 8}" y="${cy}" text-anchor="end" dominant-baseline="middle">${esc(r.label)}</text>
      <line x1="${x(r.lower).toFixed(1)}" x2="${x(r.upper).toFixed(1)}" y1="${cy}" y2="${cy}" stroke="${color}" stroke-width="3"/>
      <line x1="${x(r.lower).toFixed(1)}" x2="${x(r.lower).toFixed(1)}" y1="${cy - 6}" y2="${cy + 6}" stroke="${color}" stroke-width="2"/>
      <line x1="${x(r.upper).toFixed(1)}" x2="${x(r.upper).toFixed(1)}" y1="${cy - 6}" y2="${cy + 6}" stroke="${color}" stroke-width="2"/>
      <circle cx="${x(r.estimate).toFixed(1)}" cy="${cy}" r="5" fill="${color}" stroke="#fff"/></g>`;
  });
  body += `<text class="axis-label" x="${(left + width - M.right) / 2}" y="${height - 4}" text-anchor="middle">${esc(opts.xLabel ?? '')}</text>`;
  return frame(opts.title ?? 'intervals', body, { width, height });
}
