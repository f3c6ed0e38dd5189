// StockLean web UI: a hash-routed single page over the JSON API (DESIGN §4.1, §4.2).
// ES modules, no build step: api.js (client), format.js (formatting), router.js (routing and
// polling), charts.js (SVG charts), pages/*.js (one module per page).
import { initToken } from './api.js';
import { backtestPage } from './pages/backtest.js';
import { optimizationsListPage } from './pages/list.js';
import { newOptimizationPage } from './pages/new.js';
import { optimizationPage } from './pages/optimization.js';
import { startRouter } from './router.js';

initToken(document.getElementById('api-token'));
startRouter({
  list: optimizationsListPage,
  create: newOptimizationPage,
  optimization: optimizationPage,
  backtest: backtestPage,
});
