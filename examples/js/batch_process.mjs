#!/usr/bin/env node
// The same question about every image in a folder, one JSON line per file, through `smolvlm serve`
// with the `ollama` npm client; files already in --output are skipped (resumable).
//   node examples/js/batch_process.mjs photos/ --prompt "Describe this image." --output answers.jsonl
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Ollama } from 'ollama';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: 'string', default: 'Describe this image.' },
    output: { type: 'string' },
    model: { type: 'string', default: 'smolvlm2:256m' },
    host: { type: 'string', default: process.env.OLLAMA_HOST || 'http://127.0.0.1:11434' },
    'num-predict': { type: 'string', default: '128' },
  },
});
const media = /\.(jpe?g|png|webp|gif|bmp)$/i;
const files = positionals.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).filter((f) => media.test(f)).sort().map((f) => path.join(p, f)) : [p]);
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
