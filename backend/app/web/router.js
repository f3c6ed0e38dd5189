// Hash routing, the current page's polling and its chart redraw on resize. Every navigation
// bumps the page token; async work started by an older page checks it and stops.

export const ACTIVE = new Set(['queued', 'running']);
export const app = document.getElementById('app'); // where every page draws itself
const POLL_MS = 1000;

let pageTimer = null;
let pageToken = 0;
let redrawCharts = null; // the current page's chart drawing, run again on resize
let resizeTimer = null;

export const currentToken = () => pageToken;
export const isCurrent = (token) => token === pageToken;

export function onResize(draw) {
  redrawCharts = draw;
}

export function setTitle(text) {
  document.title = `${text} · StockLean`;
}

function stopPolling() {
  if (pageTimer) clearTimeout(pageTimer);
  pageTimer = null;
}

// Poll `fn` every POLL_MS while it returns true and the page is still the same.
export function poll(token, fn) {
  const tick = async () => {
    if (token !== pageToken) return;
    let again = false;
    try { again = await fn(); } catch (err) { console.error(err); again = true; }
    if (again && token === pageToken) pageTimer = setTimeout(tick, POLL_MS);
  };
  pageTimer = setTimeout(tick, POLL_MS);
}

function markNav(name) {
  document.querySelector(`[data-nav="${name}"]`)?.classList.add('current');
}

// `routes` holds the pages: list(), create(), optimization(id), backtest(id).
function route(routes) {
  stopPolling();
  redrawCharts = null;
  pageToken += 1;
  const hash = location.hash || '#/optimizations';
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.remove('current'));
  let m;
  if (parts[0] === 'optimizations' && parts[1] === 'new') {
    markNav('new');
    return routes.create();
  }
  if (parts[0] === 'optimizations' && (m = /^\d+$/.exec(parts[1] ?? ''))) {
    markNav('optimizations');
    return routes.optimization(Number(m[0]));
  }
  if (parts[0] === 'backtests' && (m = /^\d+$/.exec(parts[1] ?? ''))) {
    return routes.backtest(Number(m[0]));
  }
  markNav('optimizations');
  return routes.list();
}

export function startRouter(routes) {
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => redrawCharts?.(), 120);
  });
  window.addEventListener('hashchange', () => route(routes));
  route(routes);
}
