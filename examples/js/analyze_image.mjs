#!/usr/bin/env node
// Ask a SmolVLM2 model about an image through `smolvlm serve` (or Ollama) with the official `ollama`
// npm client. Setup, once: `npm install` in examples/js/ (its package.json pins the `ollama` version).
//   node examples/js/analyze_image.mjs photo.jpg "What is in this picture?" [--model smolvlm2:256m]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Ollama } from 'ollama';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'smolvlm2:256m' },
    host: { type: 'string', default: process.env.OLLAMA_HOST || 'http://127.0.0.1:11434' },
    'max-tiles': { type: 'string' },
    'num-predict': { type: 'string' },
  },
});
const [image, prompt = 'Describe this image.'] = positionals;
if (!image) {
  console.error('usage: analyze_image.mjs IMAGE [PROMPT] [--model M] [--host H] [--max-tiles N]');
  process.exit(2);
}
const options = {};
if (a['max-tiles']) options.max_tiles = Number(a['max-tiles']);  // smolvlm's resolution control
if (a['num-predict']) options.num_predict = Number(a['num-predict']);
const ollama = new Ollama({ host: a.host });
const stream = await ollama.chat({
  model: a.model,
  stream: true,
  options,
  messages: [{ role: 'user', content: prompt, images: [readFileSync(image).toString('base64')] }],
});
for await (const part of stream) process.stdout.write(part.message.content);
process.stdout.write('\n');
