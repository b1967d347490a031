// The rtcpeer stats page: draws what the CLI's stats server pushes over /ws, once a second,
// for each connection: {name, states, channels, stats: [getStats() entries]} (see
// src/stats_page.rs). Rates are computed here from counter differences over the entries'
// timestamps, as webrtc-internals does. The latest numbers are also kept in
// window.rtcpeerStats, for tests and the curious (open the console).
'use strict';

// Samples drawn per connection: 3 minutes at one per second (the server's history).
const WINDOW = 180;
const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777'];
const CHARTS = [
  { key: 'bitrate', title: 'Bitrate', unit: 'Mbit/s', digits: 2 },
  { key: 'packets', title: 'Packet rate', unit: 'packets/s', digits: 0 },
  { key: 'rtt', title: 'Round-trip time', unit: 'ms', digits: 2 },
  { key: 'loss', title: 'Loss', unit: '%', digits: 2 },
  { key: 'buffered', title: 'Data channel buffered amount', unit: 'KiB', digits: 0 },
  { key: 'frames', title: 'Frame rate', unit: 'frames/s', digits: 1 },
];
// RTCTransportStats.tlsVersion is the version field in hex (RFC 9147 §4).
const TLS_VERSIONS = { FEFD: 'DTLS 1.2', FEFC: 'DTLS 1.3' };
const GOOD = ['stable', 'connected', 'completed', 'complete', 'open'];
const BAD = ['failed', 'closed', 'disconnected'];

window.rtcpeerStats = { samples: 0, connections: {} };
const panels = new Map();
let lastTime = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Per second rate of `key` between the previous and the current entry of the same id.
function rate(cur, prev, key) {
  if (!prev || cur[key] === undefined || prev[key] === undefined) return null;
  const dt = (cur.timestamp - prev.timestamp) / 1000;
  return dt > 0 ? (cur[key] - prev[key]) / dt : null;
}

function sum(values) {
  const known = values.filter((v) => v !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

// Bytes per second to Mbit/s; unknown stays unknown (a gap in the graph).
function mbits(bytesPerSecond) {
  return bytesPerSecond === null ? null : (bytesPerSecond * 8) / 1e6;
}

function ofType(stats, type) {
  return stats.filter((s) => s.type === type);
}

// The numbers of one sample, by chart and series label; null where not known yet.
function derive(conn, prevById) {
  const stats = conn.stats;
  const prev = (s) => prevById.get(s.id);
  const out = { bitrate: {}, packets: {}, rtt: {}, loss: {}, buffered: {}, frames: {} };
  const transports = ofType(stats, 'transport');
  const bits = (key) => mbits(sum(transports.map((s) => rate(s, prev(s), key))));
  out.bitrate.sent = bits('bytesSent');
  out.bitrate.received = bits('bytesReceived');
  const outbound = ofType(stats, 'outbound-rtp');
  const inbound = ofType(stats, 'inbound-rtp');
  if (outbound.length) {
    out.bitrate['media sent'] = mbits(sum(outbound.map((s) => rate(s, prev(s), 'bytesSent'))));
  }
  if (inbound.length) {
    out.bitrate['media received'] = mbits(sum(inbound.map((s) => rate(s, prev(s), 'bytesReceived'))));
  }
  out.packets.sent = sum(transports.map((s) => rate(s, prev(s), 'packetsSent')));
  out.packets.received = sum(transports.map((s) => rate(s, prev(s), 'packetsReceived')));

  const pair = selectedPair(stats);
  out.rtt['ICE (STUN)'] =
    pair && pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null;
  for (const s of ofType(stats, 'remote-inbound-rtp')) {
    out.rtt[`RTCP ${s.kind}`] = s.roundTripTime !== undefined ? s.roundTripTime * 1000 : null;
    out.loss[`${s.kind} sent (peer's report)`] =
      s.fractionLost !== undefined ? s.fractionLost * 100 : null;
  }
  for (const s of inbound) {
    const lost = rate(s, prev(s), 'packetsLost');
    const got = rate(s, prev(s), 'packetsReceived');
    out.loss[`${s.kind} received`] =
      lost === null || got === null ? null : lost + got > 0 ? (100 * Math.max(lost, 0)) / (lost + got) : 0;
    if (s.kind === 'video') out.frames['video received'] = rate(s, prev(s), 'framesReceived');
  }
  for (const s of outbound) {
    if (s.kind === 'video') out.frames['video sent'] = rate(s, prev(s), 'framesSent');
  }
  for (const c of conn.channels) {
    out.buffered[`"${c.label}"`] = c.bufferedAmount / 1024;
  }
  return { values: out, pair };
}

// The transport's selected candidate pair, with its candidates; if the id does not resolve
// in the report (it should), the transport's nominated succeeded pair.
function selectedPair(stats) {
  const byId = new Map(stats.map((s) => [s.id, s]));
  for (const t of ofType(stats, 'transport')) {
    if (!t.selectedCandidatePairId) continue;
    const p =
      byId.get(t.selectedCandidatePairId) ||
      ofType(stats, 'candidate-pair').find(
        (c) => c.transportId === t.id && c.nominated && c.state === 'succeeded',
      );
    if (p) {
      return { ...p, local: byId.get(p.localCandidateId), remote: byId.get(p.remoteCandidateId), transport: t };
    }
  }
  return null;
}

function makePanel(name) {
  const root = el('section', 'panel');
  root.dataset.connection = name;
  const head = el('div', 'panel-head');
  head.append(el('h2', null, name), el('div', 'states'));
  const pair = el('div', 'pair', 'no candidate pair selected yet');
  const grid = el('div', 'charts');
  const charts = {};
  for (const c of CHARTS) {
    const cell = el('div', 'chart');
    const title = el('h3');
    title.append(el('span', 'title', c.title), el('span', 'unit', c.unit));
    const legend = el('div', 'legend');
    const plot = el('div', 'plot');
    cell.append(title, legend, plot);
    grid.append(cell);
    charts[c.key] = { spec: c, cell, legend, plotEl: plot, plot: null, labels: [], data: {} };
  }
  root.append(head, pair, grid);
  return { name, root, states: head.querySelector('.states'), pair, charts, times: [], prev: new Map(), samples: 0 };
}

function fmt(v, digits) {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits);
}

// A y-axis tick: 15000 -> "15k", 0.25 -> "0.25".
function tick(t) {
  return Math.abs(t) >= 1000 ? `${+(t / 1000).toFixed(1)}k` : String(+t.toFixed(3));
}

function plotOptions(chart, width) {
  const { spec } = chart;
  return {
    width,
    height: 150,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
    },
    axes: [
      {
        stroke: '#64748b',
        font: '11px system-ui, sans-serif',
        size: 28,
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        // Wall-clock time of the samples, HH:MM:SS.
        values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toTimeString().slice(0, 8)),
      },
      {
        label: spec.unit,
        labelSize: 18,
        labelFont: '12px system-ui, sans-serif',
        font: '11px system-ui, sans-serif',
        stroke: '#64748b',
        size: 48,
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        values: (u, ticks) => ticks.map(tick),
      },
    ],
    series: [
      {},
      ...chart.labels.map((label, i) => ({
        label,
        stroke: COLORS[i % COLORS.length],
        width: 1.75,
        fill: i === 0 ? COLORS[0] + '14' : undefined,
        spanGaps: false,
        points: { show: false },
      })),
    ],
  };
}

// Redraws one chart; rebuilds it when a new series appeared.
function drawChart(panel, chart) {
  const width = Math.max(chart.plotEl.clientWidth, 200);
  const data = [panel.times, ...chart.labels.map((l) => chart.data[l])];
  if (!chart.plot || chart.plot.series.length !== chart.labels.length + 1) {
    if (chart.plot) chart.plot.destroy();
    chart.plot = new uPlot(plotOptions(chart, width), data, chart.plotEl);
  } else {
    chart.plot.setData(data);
  }
  chart.legend.replaceChildren(
    ...chart.labels.map((l, i) => {
      const item = el('span', 'item');
      const dot = el('i');
      dot.style.background = COLORS[i % COLORS.length];
      const values = chart.data[l];
      item.append(dot, el('span', null, l), el('b', null, fmt(values[values.length - 1], chart.spec.digits)));
      return item;
    }),
  );
  if (!chart.labels.length) chart.legend.append(el('span', 'none', 'nothing to draw on this connection'));
}

function stateClass(v) {
  if (GOOD.includes(v)) return 'state good';
  if (BAD.includes(v)) return 'state bad';
  return 'state';
}

function drawStates(panel, states) {
  const names = [
    ['signaling', 'signaling'],
    ['iceConnection', 'ICE connection'],
    ['iceGathering', 'ICE gathering'],
    ['connection', 'connection'],
    ['dtls', 'DTLS'],
  ];
  panel.states.replaceChildren(
    ...names.map(([key, label]) => {
      const s = el('span', stateClass(states[key]));
      s.append(el('small', null, label), el('b', null, states[key]));
      return s;
    }),
  );
}

function candidateText(c) {
  if (!c) return '?';
  return `${c.address}:${c.port} ${c.candidateType} ${c.protocol}`;
}

function drawPair(panel, pair) {
  if (!pair) {
    panel.pair.textContent = 'no candidate pair selected yet';
    return;
  }
  const t = pair.transport;
  const parts = [
    ['selected pair', `${candidateText(pair.local)}  ⇄  ${candidateText(pair.remote)}`],
    ['state', `${pair.state}${pair.nominated ? ', nominated' : ''}`],
    ['RTT', pair.currentRoundTripTime !== undefined ? `${(pair.currentRoundTripTime * 1000).toFixed(2)} ms` : '–'],
    ['ICE role', t.iceRole],
    ['DTLS', [t.dtlsRole, TLS_VERSIONS[t.tlsVersion] || t.tlsVersion].filter(Boolean).join(', ')],
    ['SRTP', t.srtpCipher],
  ];
  panel.pair.replaceChildren(
    ...parts
      .filter(([, v]) => v)
      .map(([k, v]) => {
        const span = el('span');
        span.append(el('small', null, k), el('code', null, v));
        return span;
      }),
  );
}

function onSample(sample) {
  if (sample.time <= lastTime) return; // a replayed history after a reconnect
  lastTime = sample.time;
  const main = document.getElementById('connections');
  const empty = main.querySelector('.empty');
  if (empty && sample.connections.length) empty.remove();
  for (const conn of sample.connections) {
    let panel = panels.get(conn.name);
    if (!panel) {
      panel = makePanel(conn.name);
      panels.set(conn.name, panel);
      main.append(panel.root);
    }
    const { values, pair } = derive(conn, panel.prev);
    panel.prev = new Map(conn.stats.map((s) => [s.id, s]));
    panel.samples += 1;
    panel.times.push(sample.time / 1000);
    const trim = panel.times.length > WINDOW;
    if (trim) panel.times.shift();
    const info = { samples: panel.samples, states: conn.states, pair: null, latest: {}, points: {} };
    for (const c of CHARTS) {
      const chart = panel.charts[c.key];
      for (const label of Object.keys(values[c.key])) {
        if (!chart.data[label]) {
          chart.labels.push(label);
          chart.data[label] = new Array(panel.times.length - 1).fill(null);
        }
      }
      for (const label of chart.labels) {
        const v = values[c.key][label];
        chart.data[label].push(v === undefined || Number.isNaN(v) ? null : v);
        if (trim) chart.data[label].shift();
      }
      drawChart(panel, chart);
      info.latest[c.key] = values[c.key];
      info.points[c.key] = chart.plot ? chart.plot.data[0].length : 0;
    }
    drawStates(panel, conn.states);
    drawPair(panel, pair);
    if (pair) {
      info.pair = {
        local: candidateText(pair.local),
        remote: candidateText(pair.remote),
        rttMs: pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
      };
    }
    panel.root.dataset.samples = String(panel.samples);
    window.rtcpeerStats.connections[conn.name] = info;
  }
  window.rtcpeerStats.samples += 1;
  window.rtcpeerStats.time = sample.time;
  setStatus(`live · ${sample.connections.length} connection(s) · ${new Date(sample.time).toLocaleTimeString()}`, 'live');
}

function setStatus(text, cls) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.className = `status ${cls}`;
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onmessage = (m) => onSample(JSON.parse(m.data));
  ws.onclose = () => {
    setStatus('disconnected: the rtcpeer process ended? retrying…', 'down');
    setTimeout(connect, 2000);
  };
}

window.addEventListener('resize', () => {
  for (const panel of panels.values()) {
    for (const chart of Object.values(panel.charts)) {
      if (chart.plot) chart.plot.setSize({ width: Math.max(chart.plotEl.clientWidth, 200), height: 150 });
    }
  }
});

connect();
