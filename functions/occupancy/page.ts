// The occupancy page as string modules, so Node, Deno and Workers serve it without a file system or
// a build step. Plain HTML and JS: one <canvas> per address family (a /16 is 65,536 cells: pixels,
// not DOM nodes), filled from the runs the API sends. `%BASE%` is the path the group is mounted at.
// The script avoids template literals so it can sit inside this one.

export const PAGE_HTML = `<!doctype html>
<html lang="en" data-base="%BASE%">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Address occupancy</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #202124; background: #fff; }
  header { display: flex; gap: 1em; align-items: baseline; padding: 10px 16px; border-bottom: 1px solid #dadce0; }
  h1 { font-size: 18px; margin: 0; }
  h2 { font-size: 15px; margin: 0 0 6px; }
  #status { color: #5f6368; font-size: 12px; }
  #login { padding: 24px 16px; }
  #login input { width: 24em; }
  #login-error { color: #c5221f; }
  #main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; }
  #subnets { display: flex; flex-direction: column; gap: 4px; min-width: 15em; }
  #subnets button { text-align: left; border: 1px solid #dadce0; background: #fff; padding: 6px 8px; border-radius: 4px; cursor: pointer; font: inherit; }
  #subnets button[aria-current="true"] { border-color: #1a73e8; background: #e8f0fe; }
  #subnets small { display: block; color: #5f6368; }
  #legend { display: flex; gap: 12px; flex-wrap: wrap; margin: 4px 0 8px; font-size: 13px; }
  .swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #0002; vertical-align: -2px; margin-right: 4px; }
  .family { margin-bottom: 14px; }
  .family p { margin: 2px 0 6px; color: #3c4043; }
  canvas { display: block; image-rendering: pixelated; cursor: crosshair; border: 1px solid #dadce0; }
  #info { min-height: 1.4em; font-family: ui-monospace, monospace; font-size: 13px; margin: 4px 0 10px; }
  #tip { position: fixed; pointer-events: none; background: #202124; color: #fff; padding: 3px 6px; border-radius: 3px; font: 12px ui-monospace, monospace; white-space: nowrap; }
  table { border-collapse: collapse; font-size: 13px; }
  th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
  td.holder { font-weight: 600; }
  .none { color: #80868b; }
</style>
</head>
<body>
<header><h1>Address occupancy</h1><span id="status"></span></header>
<form id="login" hidden>
  <p>The data needs the functions' API token. It stays in this tab only (sessionStorage).</p>
  <label>API token <input type="password" id="token" autocomplete="off" required></label>
  <button type="submit">Open</button>
  <p id="login-error"></p>
</form>
<div id="main" hidden>
  <nav id="subnets" aria-label="Subnets"></nav>
  <div>
    <section>
      <h2 id="subnet-title"></h2>
      <div id="legend"></div>
      <div id="families"></div>
      <div id="info">Hover a cell to see its address and holder; click to keep it here.</div>
    </section>
    <section>
      <h2>Allowed-address-pair Vips</h2>
      <table id="vips"><thead><tr><th>Vip</th><th>Subnet</th><th>Address</th><th>Parents</th><th>Holder</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</div>
<div id="tip" hidden></div>
<script src="%BASE%/app.js"></script>
</body>
</html>
`;

export const PAGE_JS = `'use strict';
(function () {
  var BASE = document.documentElement.getAttribute('data-base') || '';
  var params = new URLSearchParams(location.search);
  var INTERVAL = Math.max(200, Number(params.get('interval')) || 2000);
  var TOKEN_KEY = 'vip-occupancy-token';
  var COLORS = { free: '#e3e7eb', excluded: '#80868b', gateway: '#f9ab00', vip: '#d93025', pod: '#1a73e8', manual: '#188038' };
  var LABELS = { free: 'free', excluded: 'excluded / network / broadcast', gateway: 'gateway', vip: 'Vip', pod: 'pod', manual: 'manual' };
  var GAP = '#ffffff';
  var $ = function (id) { return document.getElementById(id); };

  var cache = {};
  var selected = params.get('subnet') || '';
  var drawn = null; // { key, families: [{ fam, canvas, layout }] }
  var timer = 0;
  var pinned = '';
  // For people reading the page and for tests: timings and a way to find a cell.
  var api = (window.occupancy = { colors: COLORS, lastRenderMs: -1, renders: 0, polls: 0, cellCenter: cellCenter, pixelAt: pixelAt });

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  function showLogin(message) {
    clearTimeout(timer);
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('token').focus();
  }

  $('login').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    start();
  });

  function Unauthorized() {}

  async function get(path) {
    var headers = { Authorization: 'Bearer ' + token() };
    var hit = cache[path];
    if (hit) headers['If-None-Match'] = hit.etag;
    var res = await fetch(BASE + path, { headers: headers, cache: 'no-store' });
    if (res.status === 401) throw new Unauthorized();
    if (res.status === 304 && hit) return { value: hit.value, changed: false };
    if (!res.ok) {
      var body = await res.json().catch(function () { return {}; });
      throw new Error((body.reason || res.status) + ': ' + (body.message || res.statusText));
    }
    var value = await res.json();
    cache[path] = { etag: res.headers.get('ETag') || '', value: value };
    return { value: value, changed: true };
  }

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    renderLegend();
    clearTimeout(timer);
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      var s = await get('/api/subnets');
      var names = s.value.subnets.map(function (x) { return x.name; });
      if (names.indexOf(selected) < 0) selected = names[0] || '';
      renderSubnets(s.value.subnets);
      if (selected) {
        var g = await get('/api/subnets/' + encodeURIComponent(selected));
        if (g.changed || !drawn || drawn.key !== selected) renderGrid(g.value);
      }
      var v = await get('/api/vips');
      if (v.changed) renderVips(v.value.vips);
      $('status').textContent = 'updated ' + new Date().toLocaleTimeString() + ' (every ' + INTERVAL / 1000 + ' s)';
    } catch (err) {
      if (err instanceof Unauthorized) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin('The token was refused; enter the API token.');
        return;
      }
      $('status').textContent = 'update failed: ' + err.message;
    }
    api.polls++;
    timer = setTimeout(refresh, INTERVAL);
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function renderLegend() {
    var box = $('legend');
    box.textContent = '';
    Object.keys(COLORS).forEach(function (k) {
      var item = el('span');
      var sw = el('span', undefined, 'swatch');
      sw.style.background = COLORS[k];
      sw.setAttribute('data-state', k);
      item.appendChild(sw);
      item.appendChild(document.createTextNode(LABELS[k]));
      box.appendChild(item);
    });
  }

  function usageText(u) {
    return 'IPv' + u.family + ' ' + u.cidr + ': ' + u.used + ' used, ' + u.availableExact + ' available, ' + u.excluded + ' excluded';
  }

  function renderSubnets(list) {
    var nav = $('subnets');
    nav.textContent = '';
    list.forEach(function (s) {
      var b = el('button', s.name);
      b.type = 'button';
      b.setAttribute('data-subnet', s.name);
      b.setAttribute('aria-current', String(s.name === selected));
      s.usage.forEach(function (u) { b.appendChild(el('small', 'IPv' + u.family + ' ' + u.used + ' used / ' + u.availableExact + ' free')); });
      b.addEventListener('click', function () {
        selected = s.name;
        var q = new URLSearchParams(location.search);
        q.set('subnet', selected);
        history.replaceState(null, '', '?' + q.toString());
        refresh();
      });
      nav.appendChild(b);
    });
  }

  // Square-ish grid: a power of two columns (a /16 is 256 x 256: one row per /24), about 768 px wide.
  function layout(cells) {
    var cols = 1;
    while (cols * cols < cells) cols *= 2;
    var cell = Math.max(2, Math.min(48, Math.floor(768 / cols)));
    return { cols: cols, rows: Math.ceil(cells / cols), cell: cell, gap: cell >= 8 ? 1 : 0 };
  }

  function packed(hex) { // little-endian RGBA as one Uint32
    var n = parseInt(hex.slice(1), 16);
    return ((255 << 24) | ((n & 255) << 16) | (((n >> 8) & 255) << 8) | ((n >> 16) & 255)) >>> 0;
  }

  function paint(canvas, fam, states) {
    var L = layout(fam.cells);
    var W = L.cols * L.cell;
    canvas.width = W;
    canvas.height = L.rows * L.cell;
    var ctx = canvas.getContext('2d', { willReadFrequently: true });
    var img = ctx.createImageData(W, canvas.height);
    var px = new Uint32Array(img.data.buffer);
    px.fill(packed(GAP));
    var palette = states.map(function (s) { return packed(COLORS[s]); });
    var inner = L.cell - L.gap;
    for (var r = 0; r < fam.runs.length; r++) {
      var run = fam.runs[r];
      var color = palette[run[2]];
      for (var i = run[0], end = run[0] + run[1]; i < end; i++) {
        var x0 = (i % L.cols) * L.cell;
        var y0 = Math.floor(i / L.cols) * L.cell;
        for (var dy = 0; dy < inner; dy++) {
          var row = (y0 + dy) * W + x0;
          px.fill(color, row, row + inner);
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    return L;
  }

  function renderGrid(data) {
    var t0 = performance.now();
    $('subnet-title').textContent = 'Subnet ' + data.name + ' (' + data.protocol + ')';
    var box = $('families');
    box.textContent = '';
    var families = data.families.map(function (fam) {
      var div = el('div', undefined, 'family');
      div.appendChild(el('p', usageText(fam.usage)));
      var canvas = document.createElement('canvas');
      canvas.setAttribute('data-subnet', data.name);
      canvas.setAttribute('data-family', String(fam.family));
      div.appendChild(canvas);
      var L = paint(canvas, fam, data.states);
      var note = 'each row: ' + L.cols + ' addresses from ' + fam.first;
      if (fam.truncated) note += '; showing the first ' + fam.cells + ' addresses (' + fam.heldBeyond + ' held beyond)';
      div.appendChild(el('p', note));
      box.appendChild(div);
      var entry = { fam: fam, canvas: canvas, layout: L, states: data.states };
      canvas.addEventListener('mousemove', function (e) { hover(entry, e); });
      canvas.addEventListener('mouseleave', function () { $('tip').hidden = true; $('info').textContent = pinned || $('info').textContent; });
      canvas.addEventListener('click', function (e) { pinned = describe(entry, offsetAt(entry, e)); $('info').textContent = pinned; });
      return entry;
    });
    drawn = { key: data.name, families: families };
    api.lastRenderMs = performance.now() - t0;
    api.renders++;
    document.body.setAttribute('data-render-ms', api.lastRenderMs.toFixed(1));
  }

  function offsetAt(entry, e) {
    var rect = entry.canvas.getBoundingClientRect();
    var x = ((e.clientX - rect.left) * entry.canvas.width) / rect.width;
    var y = ((e.clientY - rect.top) * entry.canvas.height) / rect.height;
    var L = entry.layout;
    var col = Math.floor(x / L.cell), row = Math.floor(y / L.cell);
    if (col < 0 || col >= L.cols || row < 0) return -1;
    var o = row * L.cols + col;
    return o < entry.fam.cells ? o : -1;
  }

  function runAt(fam, o) { // runs are sorted by start and cover every cell
    var lo = 0, hi = fam.runs.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (fam.runs[mid][0] <= o) lo = mid; else hi = mid - 1;
    }
    return fam.runs[lo];
  }

  function describe(entry, o) {
    if (o < 0) return '';
    var run = runAt(entry.fam, o);
    var state = entry.states[run[2]];
    var addr = addressAt(entry.fam, o);
    if (state === 'excluded' && o === 0) state = 'network address';
    if (state === 'excluded' && o === entry.fam.cells - 1 && !entry.fam.truncated) state = 'broadcast address';
    var who = run[3] && state !== 'gateway' ? ' ' + run[3] : '';
    return addr + '  ' + (LABELS[state] || state) + who;
  }

  function hover(entry, e) {
    var text = describe(entry, offsetAt(entry, e));
    var tip = $('tip');
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.style.left = e.clientX + 14 + 'px';
    tip.style.top = e.clientY + 14 + 'px';
    tip.hidden = false;
    $('info').textContent = text;
  }

  // Addresses: IPv4 as a number, IPv6 as a BigInt (formatted as RFC 5952: lower case, longest zero run as ::).
  function v4(s) { return s.split('.').reduce(function (a, x) { return a * 256 + Number(x); }, 0); }
  function v4text(n) { return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'); }
  function v6(s) {
    var halves = s.split('::');
    var head = halves[0] ? halves[0].split(':') : [];
    var tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
    var groups = head.concat(new Array(8 - head.length - tail.length).fill('0'), tail);
    return groups.reduce(function (a, g) { return (a << BigInt(16)) | BigInt(parseInt(g, 16)); }, BigInt(0));
  }
  function v6text(n) {
    var g = [];
    for (var i = 7; i >= 0; i--) g.push(Number((n >> BigInt(16 * i)) & BigInt(65535)));
    var best = -1, bestLen = 1;
    for (var s = 0; s < 8; s++) {
      var l = 0;
      while (s + l < 8 && g[s + l] === 0) l++;
      if (l > bestLen) { best = s; bestLen = l; }
    }
    var hex = g.map(function (x) { return x.toString(16); });
    if (best < 0) return hex.join(':');
    return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
  }
  function addressAt(fam, o) {
    return fam.family === 4 ? v4text((v4(fam.first) + o) >>> 0) : v6text(v6(fam.first) + BigInt(o));
  }
  function offsetOf(fam, address) {
    return fam.family === 4 ? v4(address) - v4(fam.first) : Number(v6(address) - v6(fam.first));
  }

  function findCell(subnet, address) {
    if (!drawn || drawn.key !== subnet) return undefined;
    var family = address.indexOf(':') >= 0 ? 6 : 4;
    var entry = drawn.families.find(function (x) { return x.fam.family === family; });
    if (!entry) return undefined;
    var o = offsetOf(entry.fam, address);
    if (o < 0 || o >= entry.fam.cells) return undefined;
    var L = entry.layout;
    return { entry: entry, x: (o % L.cols) * L.cell + (L.cell - L.gap) / 2, y: Math.floor(o / L.cols) * L.cell + (L.cell - L.gap) / 2 };
  }

  /** Viewport coordinates of an address's cell centre (for a mouse), or null when not drawn. */
  function cellCenter(subnet, address) {
    var c = findCell(subnet, address);
    if (!c) return null;
    var rect = c.entry.canvas.getBoundingClientRect();
    return { x: rect.left + (c.x * rect.width) / c.entry.canvas.width, y: rect.top + (c.y * rect.height) / c.entry.canvas.height };
  }

  /** The colour the canvas shows at an address's cell centre, as #rrggbb, or null when not drawn. */
  function pixelAt(subnet, address) {
    var c = findCell(subnet, address);
    if (!c) return null;
    var d = c.entry.canvas.getContext('2d', { willReadFrequently: true }).getImageData(Math.floor(c.x), Math.floor(c.y), 1, 1).data;
    return '#' + [d[0], d[1], d[2]].map(function (x) { return x.toString(16).padStart(2, '0'); }).join('');
  }

  function renderVips(vips) {
    var body = $('vips').tBodies[0];
    body.textContent = '';
    if (vips.length === 0) {
      var tr0 = el('tr');
      var td0 = el('td', 'none', 'none');
      td0.colSpan = 5;
      tr0.appendChild(td0);
      body.appendChild(tr0);
      return;
    }
    vips.forEach(function (v) {
      var tr = el('tr');
      tr.setAttribute('data-vip', v.name);
      tr.appendChild(el('td', v.name));
      tr.appendChild(el('td', v.subnet));
      tr.appendChild(el('td', v.addresses.join(', ')));
      var parents = el('td');
      if (v.parents.length === 0) parents.appendChild(el('span', 'none', 'none'));
      v.parents.forEach(function (p, i) {
        if (i > 0) parents.appendChild(document.createTextNode(', '));
        parents.appendChild(el(p === v.holder ? 'strong' : 'span', p));
      });
      tr.appendChild(parents);
      tr.appendChild(v.holder ? el('td', v.holder, 'holder') : el('td', 'none', 'none'));
      body.appendChild(tr);
    });
  }

  if (token()) start();
  else showLogin('');
})();
`;
