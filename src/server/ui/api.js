// The server's API as the page uses it: Ollama's /api/tags, /api/show, /api/ps and streaming
// /api/chat, and our /api/media/plan. Every failure becomes an Error whose message is the server's
// own ("model 'x' not found", a bad image, ...).

async function errorOf(res) {
  let text = "";
  try {
    text = await res.text();
    const j = JSON.parse(text);
    if (j && j.error) return new Error(typeof j.error === "string" ? j.error : j.error.message || text);
  } catch (_) { /* not JSON: the text itself */ }
  return new Error(text.trim() || `${res.status} ${res.statusText}`);
}

async function call(path, body) {
  const res = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

// [{name, vision, video, details}] of the store, with each model's capabilities from /api/show.
export async function listModels() {
  const tags = await call("/api/tags");
  const models = await Promise.all((tags.models || []).map(async (m) => {
    try {
      const show = await call("/api/show", { model: m.name });
      const caps = show.capabilities || [];
      // Every SmolVLM2 projector takes video too: its frames go through the same tower.
      return { name: m.name, vision: caps.includes("vision"), video: caps.includes("vision"), details: m.details };
    } catch (e) {
      return { name: m.name, vision: false, video: false, details: m.details, error: e.message };
    }
  }));
  return models.sort((a, b) => a.name.localeCompare(b.name));
}

export const planMedia = (model, images, videos, maxTiles) =>
  call("/api/media/plan", { model, images, videos, options: maxTiles ? { max_tiles: maxTiles } : {} });

export const runningModels = () => call("/api/ps");

// Streams a chat reply: onPiece(text) per chunk; resolves with the final object (done: true, the
// counts and durations). `signal` aborts it (the server sees the connection close and stops).
export async function streamChat(body, signal, onPiece) {
  const res = await fetch("/api/chat", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...body, stream: true }), signal,
  });
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value || new Uint8Array(), { stream: !done });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const j = JSON.parse(line);
      if (j.error) throw new Error(j.error);
      if (j.message && j.message.content) onPiece(j.message.content);
      if (j.done) return j;
    }
    if (done) throw new Error("the server closed the reply before it was done");
  }
}
