#!/usr/bin/env node
// A chat that keeps the conversation, through `smolvlm serve` with the `ollama` npm client.
// Setup, once: `npm install` in examples/js/ (its package.json pins the `ollama` version).
// `/image PATH` attaches an image to the next message, `/clear` forgets, `/bye` or end of input quits.
//   printf '/image cat.jpg\nWhat animal is this?\n' | node examples/js/interactive_chat.mjs
import { readFileSync } from 'node:fs';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { Ollama } from 'ollama';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'smolvlm2:256m' },
    host: { type: 'string', default: process.env.OLLAMA_HOST || 'http://127.0.0.1:11434' },
    'num-predict': { type: 'string' },
  },
});
const ollama = new Ollama({ host: a.host });
const options = a['num-predict'] ? { num_predict: Number(a['num-predict']) } : {};
let history = [];
let images = [];
const rl = readline.createInterface({ input: process.stdin, terminal: process.stdin.isTTY });
if (process.stdin.isTTY) { rl.setPrompt('>>> '); rl.prompt(); }
for await (const raw of rl) {
  const line = raw.trim();
  if (line === '/bye') break;
  if (line.startsWith('/image ')) {
    images.push(readFileSync(line.slice(7).trim()).toString('base64'));
  } else if (line === '/clear') {
    history = [];
  } else if (line) {
    const msg = { role: 'user', content: line, ...(images.length ? { images } : {}) };
    images = [];
    let reply = '';
    for await (const part of await ollama.chat({ model: a.model, messages: [...history, msg], stream: true, options })) {
      reply += part.message.content;
      process.stdout.write(part.message.content);
    }
    process.stdout.write('\n\n');
    history.push(msg, { role: 'assistant', content: reply.trim() });
  }
  if (process.stdin.isTTY) rl.prompt();
}
