// Polls the node's summary every 2 s and renders cards, tables and an SVG chart of request rate and latency.
'use strict';

const POLL_MS = 2000;
const CHART_POINTS = 120;
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
const fmt = (n, digits = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const usd = (n) => (n > 0 && n < 0.01 ? n.toFixed(6) : n.toFixed(2));

function setText(id, text) {
  $(id).textContent = text;
}

/** Mean over the last `n` points (the per-second series is noisy to read one point at a time). */
function recent(series, n) {
  const pts = series.slice(-n);
  const requests = pts.reduce((s, p) => s + p.rate, 0);
  const latency = requests > 0 ? pts.reduce((s, p) => s + p.rate * p.latencyMs, 0) / requests : 0;
  return { rate: pts.length ? requests / pts.length : 0, latency };
}

function fillTable(id, rows, columns, emptyText) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren();
  if (rows.length === 0) {
    const td = document.createElement('td');
    td.colSpan = columns.length;
    td.className = 'empty';
    td.textContent = emptyText;
    body.append(document.createElement('tr'));
    body.lastChild.append(td);
    return;
  }
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const col of columns) {
      const td = document.createElement('td');
      const v = col(row);
      if (v instanceof Node) td.append(v);
      else td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
}

function stateBadge(state) {
  const span = document.createElement('span');
  span.className = `state ${state}`;
  span.textContent = state;
  return span;
}

function polyline(values, max, color) {
  const line = document.createElementNS(SVG_NS, 'polyline');
  const step = 800 / (CHART_POINTS - 1);
  const offset = CHART_POINTS - values.length;
  line.setAttribute('points', values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(195 - (v / max) * 185).toFixed(1)}`).join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', color);
  line.setAttribute('stroke-width', '2');
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  return line;
}

function drawChart(series) {
  const svg = $('chart');
  const pts = series.slice(-CHART_POINTS);
  const rates = pts.map((p) => p.rate);
  const latencies = pts.map((p) => p.latencyMs);
  // Each line has its own scale: the axis labels give both maxima.
  const maxRate = Math.max(1, ...rates);
  const maxLatency = Math.max(1, ...latencies);
  const label = (text, y, color) => {
    const t = document.createElementNS(SVG_NS, 'text');
    t.setAttribute('x', '6');
    t.setAttribute('y', String(y));
    t.setAttribute('fill', color);
    t.setAttribute('font-size', '12');
    t.textContent = text;
    return t;
  };
  svg.replaceChildren(
    polyline(rates, maxRate, '#2f6fdb'),
    polyline(latencies, maxLatency, '#d9822b'),
    label(`max ${fmt(maxRate, 1)} req/s`, 16, '#2f6fdb'),
    label(`max ${fmt(maxLatency)} ms`, 32, '#d9822b'),
  );
}

function render(s) {
  const last = recent(s.series, 10);
  setText('total-requests', fmt(s.totals.requests));
  setText('rate', fmt(last.rate, 2));
  setText('latency', `${fmt(last.latency)} ms`);
  setText('in-flight', fmt(s.totals.inFlight));
  setText('errors', fmt(s.totals.errors));
  const lookups = s.cache.hits + s.cache.misses;
  setText('cache-hit-rate', lookups > 0 ? `${fmt((100 * s.cache.hits) / lookups, 1)} %` : '–');
  setText('cache-detail', `${fmt(s.cache.hits)} hits · ${fmt(s.cache.misses)} misses · ${fmt(s.cache.bypass)} bypass`);
  setText('kb', s.kb ? fmt(s.kb.documents) : 'off');
  setText('kb-detail', s.kb ? `documents · ${fmt(s.kb.chunks)} chunks` : '');
  setText('peer-count', s.peers ? fmt(s.peers.length) : 'off');
  drawChart(s.series);
  fillTable('targets', s.targets, [(t) => t.id, (t) => stateBadge(t.state), (t) => fmt(t.requests), (t) => fmt(t.errors)], 'no targets');
  fillTable(
    'peers',
    s.peers ?? [],
    [(p) => p.id, (p) => (p.capacity === undefined ? '–' : fmt(p.capacity)), (p) => (p.models ?? []).join(', ')],
    s.peers ? 'no peers connected' : 'mesh is off',
  );
  const tokenCols = (key) => [(r) => r[key], (r) => fmt(r.prompt), (r) => fmt(r.completion), (r) => usd(r.costUsd)];
  fillTable('by-model', s.tokensByModel, tokenCols('model'), 'no tokens yet');
  fillTable('by-client', s.tokensByClient, tokenCols('client'), 'no tokens yet');
  setText('status', `updated ${new Date(s.at).toLocaleTimeString()}`);
}

async function poll() {
  try {
    const res = await fetch('/ui/api/summary', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
  } catch (err) {
    setText('status', `cannot reach the node: ${err.message}`);
  }
  setTimeout(poll, POLL_MS);
}

poll();
