#!/usr/bin/env node
// The same question about every image in folders, one JSON line per file, through `smolvlm serve`
// with the `ollama` npm client; files already in --output are skipped (resumable).
//   node examples/js/batch_process.mjs photos/ --prompt "Describe this image." --output answers.jsonl
// Setup, once: `npm install` in examples/js/ (its package.json pins the `ollama` client).
//
// Images only (.jpg .jpeg .png .webp .gif .bmp, any case): videos are skipped (the Python
// batch_process.py sends them too). Otherwise inputs are picked like `smolvlm batch` picks them:
// folders are searched recursively, files and folders whose name starts with '.' are skipped (a
// hidden folder is not searched), the files run in path order, a file named on the command line runs
// whatever its name, and each file runs once.
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Ollama } from 'ollama';

const usage = `usage: batch_process.mjs PATH... [--prompt P] [--output out.jsonl] [--model M] [--host H] [--num-predict N]
  PATH: a folder (searched recursively for images; hidden names skipped) or a file.
  Images only: .jpg .jpeg .png .webp .gif .bmp (videos are not sent; examples/python/batch_process.py sends them).`;
const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: 'string', default: 'Describe this image.' },
    output: { type: 'string' },
    model: { type: 'string', default: 'smolvlm2:256m' },
    host: { type: 'string', default: process.env.OLLAMA_HOST || 'http://127.0.0.1:11434' },
    'num-predict': { type: 'string', default: '128' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help || positionals.length === 0) {
  (a.help ? console.log : console.error)(usage);
  process.exit(a.help ? 0 : 2);
}

const images = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp']);
const hidden = (name) => name.startsWith('.') && name !== '.' && name !== '..';
const isDir = (p) => { try { return statSync(p).isDirectory(); } catch { return false; } };
// The images under a folder, sorted by path (byte order, as `smolvlm batch` sorts); hidden names are
// skipped and hidden folders not searched; links to folders are not followed.
function folderImages(dir, found = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (hidden(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) folderImages(p, found);
    else if (images.has(path.extname(e.name).toLowerCase()) && !(e.isSymbolicLink() && isDir(p))) found.push(p);
  }
  return found;
}
const byPath = (x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y));
const seen = new Set();
const files = positionals.flatMap((p) => (isDir(p) ? folderImages(p).sort(byPath) : [p]))
  .filter((f) => !seen.has(path.normalize(f)) && seen.add(path.normalize(f)));
const done = new Set();
if (a.output && existsSync(a.output))
  for (const line of readFileSync(a.output, 'utf8').split('\n'))
    if (line.trim()) { const r = JSON.parse(line); if ('answer' in r) done.add(r.file); }
const ollama = new Ollama({ host: a.host });
const write = (rec) => (a.output ? appendFileSync(a.output, JSON.stringify(rec) + '\n') : console.log(JSON.stringify(rec)));
for (const file of files.filter((f) => !done.has(f))) {
  const t0 = Date.now();
  try {
    const r = await ollama.chat({
      model: a.model,
      options: { num_predict: Number(a['num-predict']) },
      messages: [{ role: 'user', content: a.prompt, images: [readFileSync(file).toString('base64')] }],
    });
    write({ file, answer: r.message.content.trim(), prompt_tokens: r.prompt_eval_count, eval_tokens: r.eval_count,
            seconds: (Date.now() - t0) / 1000 });
  } catch (e) {
    write({ file, error: String(e.message || e), seconds: (Date.now() - t0) / 1000 });
  }
}
