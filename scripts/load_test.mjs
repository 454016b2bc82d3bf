#!/usr/bin/env node
// Bounded loopback load on a running `smolvlm serve` through the official ollama-js client (not a
// test): N concurrent clients for T seconds, each looping over a random mix of text chats, image
// chats and streamed text generations. Prints requests served, errors by kind (HTTP status or
// network error; only 503 "server busy" is expected), p50/p99 latency, and the server's RSS
// before / peak / after (from /proc/<pid>/status). Exits 1 if any error other than 503 occurred or
// the server stopped answering.
//
//   node scripts/load_test.mjs [--clients 32] [--seconds 60] [--host 127.0.0.1:11434]
//        [--model tiny:latest] [--pid PID] [--image PATH] [--num-predict 32]
// Needs tests/node/node_modules (npm ci --prefix tests/node). --host defaults to OLLAMA_HOST; --pid
// defaults to the only running `smolvlm serve` process.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '60' },
    host: { type: 'string', default: process.env.OLLAMA_HOST || '127.0.0.1:11434' },
    model: { type: 'string', default: 'tiny:latest' },
    pid: { type: 'string' },
    image: { type: 'string', default: path.resolve(here, '../../shared/golden/tiny512/inputs/image.png') },
    'num-predict': { type: 'string', default: '32' },
  },
});
const clients = Number(a.clients);
const seconds = Number(a.seconds);
const numPredict = Number(a['num-predict']);
const host = a.host.includes('://') ? a.host : `http://${a.host}`;

// ollama-js lives in tests/node/node_modules, beside the client tests.
const req = createRequire(path.resolve(here, '../tests/node/package.json'));
const mod = await import(pathToFileURL(req.resolve('ollama')).href);
const Ollama = mod.Ollama ?? mod.default.Ollama;

// The server's pid: --pid, else the one process whose command line is `... smolvlm serve ...`.
function findPid() {
  if (a.pid) return Number(a.pid);
  const found = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0]) === 'smolvlm' && argv[1] === 'serve') found.push(Number(d));
    } catch { /* gone */ }
  }
  if (found.length !== 1) throw new Error(`found ${found.length} 'smolvlm serve' processes; pass --pid`);
  return found[0];
}
const pid = findPid();
function memKiB(field) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : NaN;
}
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;

const image = readFileSync(a.image).toString('base64');
const options = { num_predict: numPredict, temperature: 0 };
const kinds = {
  text_chat: (c, i) => c.chat({ model: a.model, options, messages: [{ role: 'user', content: `Question ${i}: tell me something.` }] }),
  image_chat: (c, i) => c.chat({
    model: a.model, options, messages: [{ role: 'user', content: `Picture ${i}: what is in it?`, images: [image] }],
  }),
  stream_generate: async (c, i) => {
    let done = false;
    for await (const p of await c.generate({ model: a.model, options, prompt: `Story ${i}:`, stream: true })) done ||= p.done;
    if (!done) throw new Error('stream ended without done');
  },
};
const kindNames = Object.keys(kinds);

// Warm up (loads the model) so the "before" RSS is the loaded server at rest.
const warm = new Ollama({ host });
await kinds.image_chat(warm, 0);
const rssBefore = memKiB('VmRSS');
let rssPeak = rssBefore;
const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, memKiB('VmRSS')); }, 250);

const lat = Object.fromEntries(kindNames.map((k) => [k, []]));
const errors = new Map(); // kind of error → count
const deadline = Date.now() + seconds * 1000;
let counter = 0;
async function client() {
  const c = new Ollama({ host });
  while (Date.now() < deadline) {
    const kind = kindNames[Math.floor(Math.random() * kindNames.length)];
    const t0 = performance.now();
    try {
      await kinds[kind](c, counter++);
      lat[kind].push(performance.now() - t0);
    } catch (e) {
      const what = e.status_code ? `HTTP ${e.status_code}: ${e.error}` : `${e.name}: ${e.cause?.code ?? e.message}`;
      const key = `${what} [${kind}]`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
      if (e.status_code === 503) await new Promise((r) => setTimeout(r, 50)); // back off like a client would
    }
  }
}
const t0 = Date.now();
await Promise.all(Array.from({ length: clients }, client));
const elapsed = (Date.now() - t0) / 1000;
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 1000)); // let the server settle
const rssAfter = memKiB('VmRSS');
const alive = await fetch(`${host}/`).then((r) => r.ok, () => false);

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x) => `${x.toFixed(1)} ms`;
const all = kindNames.flatMap((k) => lat[k]);
const lines = [
  `load_test: ${clients} clients, ${elapsed.toFixed(1)} s, model ${a.model} at ${host}, server pid ${pid}, num_predict ${numPredict}`,
  `requests served: ${all.length} (${(all.length / elapsed).toFixed(1)}/s)`,
  ...kindNames.map((k) => `  ${k.padEnd(16)} ${String(lat[k].length).padStart(6)}  p50 ${ms(pct(lat[k], 50))}  p99 ${ms(pct(lat[k], 99))}`),
  `latency (all): p50 ${ms(pct(all, 50))}  p99 ${ms(pct(all, 99))}  max ${ms(Math.max(...all))}`,
  `errors: ${errors.size ? '' : 'none'}`,
  ...[...errors].map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`),
  `server RSS: before ${mib(rssBefore)}, peak ${mib(rssPeak)}, after ${mib(rssAfter)} (VmHWM ${mib(memKiB('VmHWM'))})`,
  `server still answering: ${alive ? 'yes' : 'NO'}`,
];
console.log(lines.join('\n'));
const unexpected = [...errors.keys()].filter((k) => !k.startsWith('HTTP 503'));
process.exit(unexpected.length || !alive ? 1 : 0);
