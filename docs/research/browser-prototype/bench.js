// Measures Chromium launch time, per-page time and memory. Usage: node bench.js [N]  (env CHROME_EXE)
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs'), os = require('node:os'), path = require('node:path');
const { chromium } = require('playwright-core');
const N = Number(process.argv[2] || 10);
const EXE = process.env.CHROME_EXE || '/usr/bin/chromium';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-bench-'));
const now = () => process.hrtime.bigint(), ms = (t) => Math.round(Number(now() - t) / 1e6);

function mem() {  // RSS and PSS summed over this process's chromium descendants, MiB
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) if (/^\d+$/.test(d)) try {
    const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); const pp = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
    (kids.get(pp) || kids.set(pp, []).get(pp)).push(Number(d));
  } catch {}
  const todo = [...(kids.get(process.pid) || [])]; let rss = 0, pss = 0, n = 0;
  while (todo.length) { const p = todo.pop(); todo.push(...(kids.get(p) || [])); try {
    if (!/chrom/.test(fs.readFileSync(`/proc/${p}/comm`, 'utf8'))) continue;
    const r = fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
    rss += Number(/^Rss:\s+(\d+)/m.exec(r)[1]); pss += Number(/^Pss:\s+(\d+)/m.exec(r)[1]); n++; } catch {} }
  return { n, rss: Math.round(rss / 1024), pss: Math.round(pss / 1024) };
}
const stats = (a) => { const s = [...a].sort((x, y) => x - y); return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] }; };

(async () => {
  execFileSync('bash', [path.join(__dirname, 'make-certs.sh'), path.join(work, 'certs')], { stdio: 'ignore' });
  const spki = fs.readFileSync(path.join(work, 'certs/server.spki'), 'utf8').trim();
  const srv = spawn('python3', [path.join(__dirname, 'server.py'), path.join(work, 'certs/server-chain.pem'), path.join(work, 'certs/server.key'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = ''; const port = await new Promise((r) => srv.stdout.on('data', (d) => { buf += d; const m = /LISTENING (\d+)/.exec(buf); if (m) r(m[1]); }));
  const base = `https://127.0.0.1:${port}`;
  const R = { launch: [], firstPage: [], nextPage: [], login: [], close: [], memIdle: [], memOnePage: [], fail: 0 };
  for (let i = 0; i < N; i++) {
    try {
      let t = now();
      const b = await chromium.launch({ executablePath: EXE, args: [`--ignore-certificate-errors-spki-list=${spki}`], env: { ...process.env, HOME: work } });
      R.launch.push(ms(t));
      await new Promise((r) => setTimeout(r, 300)); R.memIdle.push(mem().pss);
      t = now(); const ctx = await b.newContext(); const p = await ctx.newPage(); await p.goto(`${base}/login`); R.firstPage.push(ms(t));
      t = now(); await p.goto(`${base}/login`); R.nextPage.push(ms(t));
      t = now(); await p.fill('#username', 'alice'); await p.fill('#password', 's3cret');
      await Promise.all([p.waitForNavigation(), p.click('#submit')]); await p.waitForSelector('text=403'); R.login.push(ms(t));
      R.memOnePage.push(mem().pss);
      t = now(); await b.close(); R.close.push(ms(t));
    } catch (e) { R.fail++; console.error('run', i, 'failed:', e.message.split('\n')[0]); }
  }
  srv.kill(); fs.rmSync(work, { recursive: true, force: true });
  const out = { exe: EXE, runs: N, failures: R.fail, load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  for (const k of ['launch', 'firstPage', 'nextPage', 'login', 'close', 'memIdle', 'memOnePage']) out[k + (k.startsWith('mem') ? 'PssMiB' : 'Ms')] = stats(R[k]);
  console.log(JSON.stringify(out, null, 1));
})();
