/**
 * The dashboard's HTML: a static shell that /app.js fills from /api/events. It holds no data and
 * no secret; every value is set with textContent (never parsed as HTML).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>carve</title>
<link rel="stylesheet" href="/app.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<header>
  <h1>carve <span data-field="migration"></span></h1>
  <span class="badge" data-field="phase">…</span>
  <span class="muted" id="updated"></span>
  <span class="muted" id="connection">connecting</span>
</header>
<main>
<section class="cards">
  <div class="card"><h2>Progress</h2><div class="big" data-field="progress">-</div>
    <div class="bar"><div id="progress-bar"></div></div>
    <div class="sub"><span data-field="rows-copied">-</span> of <span data-field="rows-estimated">-</span> rows</div></div>
  <div class="card"><h2>Time remaining</h2><div class="big" data-field="eta">-</div>
    <div class="sub"><span data-field="rate">-</span> rows/s</div></div>
  <div class="card"><h2>Tables migrated</h2><div class="big"><span data-field="tables-migrated">-</span> / <span data-field="tables-total">-</span></div>
    <div class="sub"><span data-field="chunks-done">-</span> / <span data-field="chunks">-</span> chunks</div></div>
  <div class="card"><h2>Errors</h2><div class="big" data-field="errors">-</div></div>
  <div class="card"><h2>Last verify</h2><div class="big" data-field="verify">-</div><div class="sub" data-field="verify-at"></div></div>
  <div class="card"><h2>Conflicts pending</h2><div class="big" data-field="conflicts">-</div></div>
</section>
<section>
  <h2>Lag per database</h2>
  <svg id="lag-chart" viewBox="0 0 640 160" preserveAspectRatio="none" role="img" aria-label="lag per database, last 5 minutes"></svg>
  <div class="legend" id="lag-legend"></div>
  <table id="databases"><thead><tr><th>database</th><th>applied</th><th class="num">lag</th><th class="num">lag s</th><th>last commit</th><th>holds</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Tables</h2>
  <table id="tables"><thead><tr><th>table</th><th>database</th><th class="num">rows copied</th><th class="num">estimated</th><th>progress</th><th class="num">chunks</th><th class="num">rows/s</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Services</h2>
  <table id="services"><thead><tr><th>service</th><th>database</th><th>phase</th><th>actions</th></tr></thead><tbody></tbody></table>
  <p class="muted" id="action-result"></p>
</section>
<section class="two">
  <div><h2>Verify</h2><div id="verify-details" class="muted">no verify yet</div></div>
  <div><h2>Errors</h2><ul id="errors"></ul></div>
</section>
<section>
  <h2>Activity</h2>
  <ul id="activity"></ul>
</section>
</main>
<dialog id="confirm">
  <p id="confirm-text"></p>
  <div class="buttons"><button type="button" id="confirm-cancel">Cancel</button><button type="button" id="confirm-ok" class="danger">Confirm</button></div>
</dialog>
</body>
</html>
`;
