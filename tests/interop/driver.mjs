// Drives one headless Chromium for rtcpeer's Rust interop tests.
//
// Protocol (JSON lines): stdout carries only protocol lines, logs go to stderr.
//   first line out:  {"ready":true,"version":"<chromium version>"}
//   request in:      {"id":N,"eval":"<js function body>"}
//   reply out:       {"id":N,"ok":<JSON value>}  or  {"id":N,"error":{"name":..,"message":..}}
//   other requests:  {"id":N,"goto":"<http://127.0.0.1:... URL>"} loads that page instead of the
//                    blank one (later evals run in it); {"id":N,"viewport":{"width":W,"height":H}};
//                    {"id":N,"screenshot":"<file path>.png"} saves the whole page as PNG.
// The body runs as `(async () => { <body> })()` in one page, so state kept on `window`
// (e.g. `window.pc = new RTCPeerConnection()`) persists across requests. The return value
// goes through JSON.stringify in the page (objects with toJSON, such as
// RTCSessionDescription, serialise like in browsers; `undefined` becomes null).
// Requests are handled concurrently; send one at a time to keep replies in order.
// Closing stdin closes the browser and ends the process.
//
// Run it inside a loopback-only network namespace (see crates/rtcpeer/tests/common/chromium.rs):
// Chromium gathers ICE candidates on every interface it can see.

import fs from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

// The features playwright-core (the version pinned in package-lock.json) disables with its own
// `--disable-features=` switch, in its order. Chromium honours only the last
// `--disable-features`, so the driver removes playwright's switch (ignoreDefaultArgs needs the
// exact string) and passes one merged switch. The launch checks the real command line and
// fails if playwright's switch was not removed (i.e. this list is stale after an upgrade).
const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];
// RTCPEER_CHROMIUM_DEFAULT_PRIVACY=1 keeps Chromium's default host-candidate privacy: no media
// permission (so no --use-fake-ui-for-media-stream, which grants it and with it "enumeration
// allowed", under which Chromium never hides addresses) and WebRtcHideLocalIpsWithMdns left
// on, so host candidates are `<uuid>.local` names answered by Chromium's mDNS responder.
// Chromium then gathers only on the interface of its default route, and its responder never
// binds on a loopback interface: such a run needs a namespace with a non-loopback interface.
const DEFAULT_PRIVACY = process.env.RTCPEER_CHROMIUM_DEFAULT_PRIVACY === '1';
// RTCPEER_CHROMIUM_IGNORE_CERT_ERRORS=1 adds --ignore-certificate-errors: Chromium checks a
// `turns:` server's certificate like an HTTPS one, so a test CA needs it (turn_tcp_tls.rs).
const IGNORE_CERT_ERRORS = process.env.RTCPEER_CHROMIUM_IGNORE_CERT_ERRORS === '1';
// Ours: keep host candidates as real (loopback) IPs instead of mDNS names.
const OUR_DISABLED_FEATURES = DEFAULT_PRIVACY ? [] : ['WebRtcHideLocalIpsWithMdns'];
const MEDIA_PERMISSION_ARGS = DEFAULT_PRIVACY
  ? []
  : ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];

const PAGE = '<!doctype html><meta charset="utf-8"><title>rtcpeer interop</title><body></body>\n';

function log(...args) {
  console.error('[driver]', ...args);
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Serves the blank test page on 127.0.0.1 at a random port.
async function startServer() {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

// Returns the browser process's command line (argv): the child of this process that holds the
// DevTools pipe (the Debian wrapper /usr/bin/chromium execs the real binary). The DevTools
// `Browser.getBrowserCommandLine` would need --enable-automation, which changes page behaviour.
function browserCommandLine() {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    let stat, argv;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    } catch {
      continue; // the process went away meanwhile
    }
    if (argv.includes('--remote-debugging-pipe')) return argv;
  }
  throw new Error('cannot find the Chromium browser process among the children of the driver');
}

function checkCommandLine(argv) {
  const disables = argv.filter((a) => a.startsWith('--disable-features='));
  if (disables.length !== 1) {
    throw new Error(
      `expected exactly one --disable-features switch, Chromium got ${disables.length}: ` +
        `${JSON.stringify(disables)}; playwright-core's own list changed: update ` +
        `PLAYWRIGHT_DISABLED_FEATURES in driver.mjs`,
    );
  }
  const features = disables[0].slice('--disable-features='.length).split(',');
  for (const f of OUR_DISABLED_FEATURES) {
    if (!features.includes(f)) throw new Error(`--disable-features lacks ${f}: ${disables[0]}`);
  }
  if (DEFAULT_PRIVACY && features.includes('WebRtcHideLocalIpsWithMdns')) {
    throw new Error(`mDNS hiding must stay on: ${disables[0]}`);
  }
}

// The page-side wrapper: runs the body, JSON-serialises the result or the error.
function wrap(body) {
  return `(async () => {
  try {
    const __v = await (async () => {
${body}
    })();
    const __s = JSON.stringify({ ok: __v === undefined ? null : __v });
    return __s;
  } catch (e) {
    const name = (e && typeof e.name === 'string') ? e.name : 'Error';
    const message = (e && typeof e.message === 'string') ? e.message : String(e);
    return JSON.stringify({ error: { name, message } });
  }
})()`;
}

async function main() {
  const t0 = Date.now();
  const server = await startServer();
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}/`;

  const playwrightDisable = '--disable-features=' + PLAYWRIGHT_DISABLED_FEATURES.join(',');
  const merged = '--disable-features=' + [...PLAYWRIGHT_DISABLED_FEATURES, ...OUR_DISABLED_FEATURES].join(',');

  // playwright creates a fresh --user-data-dir itself (mkdtemp under os.tmpdir(), i.e. $TMPDIR)
  // and deletes it on close; it refuses a --user-data-dir in `args` for launch().
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false, // adds --no-sandbox (we run as root)
    // With nothing of ours to add, playwright's own switch stays (the merged one would equal
    // it, and ignoreDefaultArgs would drop both).
    ignoreDefaultArgs: OUR_DISABLED_FEATURES.length ? [playwrightDisable] : [],
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(OUR_DISABLED_FEATURES.length ? [merged] : []),
      '--allow-loopback-in-peer-connection',
      ...MEDIA_PERMISSION_ARGS,
      // No name resolves (nothing leaves the machine); with default privacy (the mDNS tests'
      // own namespace) names under .local are left to Chromium's mDNS resolver, so it can
      // resolve a peer's hidden host candidates (draft-ietf-mmusic-mdns-ice-candidates).
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1' +
        (DEFAULT_PRIVACY ? ' , EXCLUDE *.local' : ''),
      ...(IGNORE_CERT_ERRORS ? ['--ignore-certificate-errors'] : []),
    ],
    timeout: 60_000,
  });

  let closing = false;
  browser.on('disconnected', () => {
    if (!closing) {
      log('browser disconnected unexpectedly');
      process.exit(1);
    }
  });

  checkCommandLine(browserCommandLine());

  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => log(`console.${m.type()}:`, m.text()));
  page.on('pageerror', (e) => log('pageerror:', e && e.message));
  page.on('crash', () => {
    log('page crashed');
    process.exit(1);
  });
  await page.goto(url);
  log(`ready in ${Date.now() - t0} ms at ${url}`);
  send({ ready: true, version: browser.version() });

  const handle = async (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      log('ignoring malformed request line:', e.message);
      return;
    }
    const id = req.id ?? null;
    try {
      if (typeof req.goto === 'string') {
        await page.goto(req.goto);
        send({ id, ok: null });
        return;
      }
      if (req.viewport && typeof req.viewport === 'object') {
        await page.setViewportSize({ width: req.viewport.width, height: req.viewport.height });
        send({ id, ok: null });
        return;
      }
      if (typeof req.screenshot === 'string') {
        await page.screenshot({ path: req.screenshot, fullPage: true });
        send({ id, ok: null });
        return;
      }
    } catch (e) {
      send({ id, error: { name: 'DriverError', message: (e && e.message) || String(e) } });
      return;
    }
    if (typeof req.eval !== 'string') {
      send({ id, error: { name: 'DriverError', message: 'request needs a string "eval"' } });
      return;
    }
    try {
      const out = JSON.parse(await page.evaluate(wrap(req.eval)));
      if ('error' in out) send({ id, error: out.error });
      else send({ id, ok: 'ok' in out ? out.ok : null });
    } catch (e) {
      // Failures outside the body's own execution: a syntax error in the body, a crashed page.
      const message = (e && e.message) || String(e);
      const name = /SyntaxError/.test(message) ? 'SyntaxError' : 'DriverError';
      send({ id, error: { name, message } });
    }
  };

  // Each request starts when it arrives: a client sends the next one after the previous
  // reply, so a request that never settles (the client timed out on it) blocks nothing.
  const inflight = new Set();
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const p = handle(line).finally(() => inflight.delete(p));
    inflight.add(p);
  });
  rl.on('close', async () => {
    closing = true;
    // Let running requests finish (bounded), then close the browser.
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 2000))]);
    await browser.close().catch((e) => log('browser.close failed:', e.message));
    server.close();
    process.exit(0);
  });
}

main().catch((e) => {
  log('fatal:', (e && e.stack) || e);
  process.exit(1);
});
