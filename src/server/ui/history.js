// The conversations, kept in this browser's IndexedDB (attachments as Blobs, so images survive a
// reload and can be sent again), and exported as JSON (attachments as base64).
//
// A chat: {id, title, model, updated, messages: [{role, content, attachments: [{name, type, blob}],
// timings?, stopped?}]}.

const DB = "smolvlm-ui";
const STORE = "chats";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const result = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("the browser refused to save the chat"));
    });
  } finally {
    db.close();
  }
}

export const saveChat = (chat) => tx("readwrite", (s) => s.put(chat));
export const deleteChat = (id) => tx("readwrite", (s) => s.delete(id));
export const loadChat = (id) => tx("readonly", (s) => s.get(id));
export async function listChats() {
  const all = (await tx("readonly", (s) => s.getAll())) || [];
  return all.map(({ id, title, updated }) => ({ id, title, updated })).sort((a, b) => b.updated - a.updated);
}

export function newChat(model) {
  const id = (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  return { id, title: "New chat", model, updated: Date.now(), messages: [] };
}

export function blobToBase64(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(",", 2)[1] || "");
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

// The chat as a JSON document a person or a script can read: Ollama-style messages with base64
// images / videos, plus what the page measured.
export async function exportChat(chat) {
  const messages = [];
  for (const m of chat.messages) {
    const out = { role: m.role, content: m.content };
    for (const a of m.attachments || []) {
      const key = a.type.startsWith("video/") ? "videos" : "images";
      (out[key] = out[key] || []).push(await blobToBase64(a.blob));
    }
    if (m.timings) out.timings = m.timings;
    if (m.stopped) out.stopped = true;
    messages.push(out);
  }
  return { title: chat.title, model: chat.model, exported_at: new Date().toISOString(), messages };
}
