// The chat page: pick a model, attach images and videos (button, paste, drop), ask, watch the reply
// stream, stop it, regenerate or edit, and keep the conversations in this browser.
import * as api from "./api.js";
import * as history from "./history.js";
import { renderMarkdown } from "./markdown.js";

const $ = (id) => document.getElementById(id);
const ui = {
  model: $("model-select"), caps: $("model-caps"), messages: $("messages"), prompt: $("prompt-input"),
  send: $("send-button"), stop: $("stop-button"), attach: $("attach-input"), attachments: $("attachments"),
  tilesRow: $("tiles-row"), maxTiles: $("max-tiles"), tileCost: $("tile-cost"), error: $("error-banner"),
  errorText: $("error-text"), system: $("system-prompt"), chatList: $("chat-list"), sidebar: $("sidebar"),
  overlay: $("drop-overlay"), emptyHint: $("empty-hint"),
};
const state = {
  models: [],      // from api.listModels()
  chat: null,      // the open conversation (history.js's shape)
  pending: [],     // attachments of the next message: {blob, name, type, url, width?, height?, duration?}
  controller: null, // the running reply's AbortController
};
const SETTINGS_KEY = "smolvlm-ui-settings";
const blobUrls = new WeakMap();  // attachment Blob -> its object URL (made once, never stored)
function urlOf(blob) {
  if (!blobUrls.has(blob)) blobUrls.set(blob, URL.createObjectURL(blob));
  return blobUrls.get(blob);
}

// ---- errors -------------------------------------------------------------------------------------
function showError(message) {
  ui.errorText.textContent = message;
  ui.error.hidden = false;
}
function clearError() {
  ui.error.hidden = true;
  ui.errorText.textContent = "";
}

// ---- models -------------------------------------------------------------------------------------
const currentModel = () => state.models.find((m) => m.name === ui.model.value);

function describeCaps(m) {
  if (!m) return "";
  if (m.error) return `unavailable: ${m.error}`;
  return m.vision ? "sees images and video" : "text only";
}

async function loadModels() {
  try {
    state.models = await api.listModels();
  } catch (e) {
    showError(`Cannot list the models: ${e.message}`);
    return;
  }
  ui.model.replaceChildren(...state.models.map((m) => {
    const o = document.createElement("option");
    o.value = m.name;
    o.textContent = m.vision ? `${m.name}  (vision, video)` : m.name;
    o.dataset.vision = String(m.vision);
    o.dataset.video = String(m.video);
    return o;
  }));
  if (!state.models.length) {
    showError("The store has no models yet: run `smolvlm pull ...` or `smolvlm create ...`, then reload this page.");
  }
  const saved = loadSettings().model;
  if (saved && state.models.some((m) => m.name === saved)) ui.model.value = saved;
  onModelChange();
}

function onModelChange() {
  ui.caps.textContent = describeCaps(currentModel());
  saveSettings();
  updateTileCost();
}

// ---- settings (system prompt, parameters, image detail), kept in localStorage -------------------
function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {};
  } catch (_) {
    return {};
  }
}
function saveSettings() {
  const s = { model: ui.model.value, system: ui.system.value, maxTiles: ui.maxTiles.value, options: {} };
  for (const input of document.querySelectorAll("[data-option]")) s.options[input.dataset.option] = input.value;
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
}
function restoreSettings() {
  const s = loadSettings();
  ui.system.value = s.system || "";
  if (s.maxTiles) ui.maxTiles.value = s.maxTiles;
  for (const input of document.querySelectorAll("[data-option]")) input.value = (s.options || {})[input.dataset.option] || "";
}
function requestOptions() {
  const options = {};
  for (const input of document.querySelectorAll("[data-option]")) {
    if (input.value.trim() === "") continue;
    const v = Number(input.value);
    if (!Number.isFinite(v)) throw new Error(`${input.dataset.option}: "${input.value}" is not a number`);
    options[input.dataset.option] = v;
  }
  const tiles = Number(ui.maxTiles.value);
  if (tiles > 0) options.max_tiles = tiles;
  return options;
}

// ---- attachments --------------------------------------------------------------------------------
function isMedia(file) {
  return file.type.startsWith("image/") || file.type.startsWith("video/") || /\.(heic|heif)$/i.test(file.name);
}

function measure(a) {  // natural size of an image, duration of a video (for the token cost)
  return new Promise((resolve) => {
    if (a.type.startsWith("video/")) {
      const v = document.createElement("video");
      v.preload = "metadata";
      v.onloadedmetadata = () => { a.duration = v.duration; resolve(); };
      v.onerror = () => resolve();
      v.src = a.url;
    } else {
      const img = new Image();
      img.onload = () => { a.width = img.naturalWidth; a.height = img.naturalHeight; resolve(); };
      img.onerror = () => resolve();  // e.g. HEIC: the browser cannot show it; the server says what it makes of it
      img.src = a.url;
    }
  });
}

async function addFiles(files) {
  const added = [];
  for (const f of files) {
    if (!isMedia(f)) {
      showError(`${f.name || "the pasted item"} is not an image or a video`);
      continue;
    }
    const a = { blob: f, name: f.name || "pasted image", type: f.type || "image/heic", url: urlOf(f) };
    state.pending.push(a);
    added.push(measure(a));
  }
  renderAttachments();
  await Promise.all(added);
  updateTileCost();
}

function mediaElement(a, controls) {
  const el = document.createElement(a.type.startsWith("video/") ? "video" : "img");
  el.src = a.url;
  if (el.tagName === "VIDEO") {
    el.muted = true;
    el.preload = "metadata";
    el.controls = controls;
  } else {
    el.alt = a.name;
  }
  return el;
}

function renderAttachments() {
  ui.attachments.replaceChildren(...state.pending.map((a, i) => {
    const t = document.createElement("div");
    t.className = "thumb";
    t.dataset.testid = "attachment-thumb";
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = a.name;
    const rm = document.createElement("button");
    rm.type = "button";
    rm.className = "remove";
    rm.textContent = "\u00d7";
    rm.setAttribute("aria-label", `Remove ${a.name}`);
    rm.onclick = () => {
      state.pending.splice(i, 1);
      renderAttachments();
      updateTileCost();
    };
    t.append(mediaElement(a, false), label, rm);
    return t;
  }));
  ui.tilesRow.hidden = state.pending.length === 0;
}

let costRequest = 0;
async function updateTileCost() {
  const m = currentModel();
  if (!state.pending.length || !m) return;
  if (!m.vision) {
    ui.tileCost.textContent = `${m.name} cannot see images or videos`;
    return;
  }
  const images = state.pending.filter((a) => !a.type.startsWith("video/") && a.width);
  const videos = state.pending.filter((a) => a.type.startsWith("video/") && a.duration);
  const id = ++costRequest;
  try {
    const plan = await api.planMedia(m.name, images.map((a) => ({ width: a.width, height: a.height })),
      videos.map((a) => ({ duration: a.duration })), Number(ui.maxTiles.value));
    if (id !== costRequest) return;  // a newer choice is being priced
    const items = [...plan.images, ...plan.videos];
    const tokens = items.reduce((n, p) => n + p.tokens, 0);
    const frames = items.reduce((n, p) => n + p.frames, 0);
    const grids = plan.images.map((p) => (p.rows ? `${p.rows}\u00d7${p.cols}+1` : "1"));
    ui.tileCost.textContent = `${tokens} image tokens (${frames} frames of ${plan.tokens_per_frame}` +
      (grids.length ? `; tiles ${grids.join(", ")}` : "") + (videos.length ? "; video frames sampled at 1 fps" : "") + ")";
    ui.tileCost.dataset.tokens = String(tokens);
  } catch (e) {
    if (id === costRequest) ui.tileCost.textContent = `cost unknown: ${e.message}`;
  }
}

// ---- conversation -------------------------------------------------------------------------------
function formatTimings(t) {
  const parts = [`prompt ${t.prompt_tokens} tokens`];
  if (t.image_encode_s) parts.push(`image encode ${t.image_encode_s.toFixed(2)} s`);
  parts.push(`first token ${t.ttft_s.toFixed(2)} s`);
  if (t.tokens_per_s) parts.push(`${t.tokens_per_s.toFixed(1)} tokens/s (${t.eval_tokens} tokens)`);
  if (t.device) parts.push(t.device);
  return parts.join(" \u00b7 ");
}

function actionButton(label, onclick, testid) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.testid = testid;
  b.onclick = onclick;
  return b;
}

function renderMessage(m, index) {
  const busy = state.controller !== null;
  const last = index === state.chat.messages.length - 1;
  const div = document.createElement("article");
  div.className = `msg ${m.role}`;
  div.dataset.testid = m.role === "user" ? "user-message" : "assistant-message";
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = m.role === "user" ? "You" : (m.model || "assistant");
  div.append(who);
  if (m.attachments && m.attachments.length) {
    const media = document.createElement("div");
    media.className = "media";
    for (const a of m.attachments) media.append(mediaElement({ ...a, url: urlOf(a.blob) }, true));
    div.append(media);
  }
  const content = document.createElement("div");
  content.className = m.role === "user" ? "content user-text" : "content";
  if (m.role === "user") content.textContent = m.content;
  else content.innerHTML = renderMarkdown(m.content);
  div.append(content);
  if (m.stopped) {
    const s = document.createElement("div");
    s.className = "stopped";
    s.textContent = "stopped";
    div.append(s);
  }
  if (m.timings) {
    const t = document.createElement("div");
    t.className = "timings";
    t.dataset.testid = "timings";
    t.textContent = formatTimings(m.timings);
    div.append(t);
  }
  if (!busy) {
    const actions = document.createElement("div");
    actions.className = "actions";
    if (m.role === "user") actions.append(actionButton("Edit", () => editMessage(index, div, content), "edit-button"));
    if (m.role === "assistant" && last) actions.append(actionButton("Regenerate", regenerate, "regenerate-button"));
    if (actions.children.length) div.append(actions);
  }
  return { div, content };
}

function renderChat() {
  const views = state.chat.messages.map(renderMessage);
  if (views.length) ui.messages.replaceChildren(...views.map((v) => v.div));
  else ui.messages.replaceChildren(ui.emptyHint);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  return views;
}

function setBusy(controller) {
  state.controller = controller;
  ui.send.disabled = controller !== null;
  ui.send.hidden = controller !== null;
  ui.stop.hidden = controller === null;
}

async function deviceOf(model) {
  try {
    const ps = await api.runningModels();
    const m = (ps.models || []).find((x) => x.name === model || x.model === model);
    if (!m || !m.size) return "";
    const gpu = Math.round((100 * (m.size_vram || 0)) / m.size);
    return gpu === 0 ? "CPU" : gpu >= 100 ? "GPU" : `${100 - gpu}%/${gpu}% CPU/GPU`;
  } catch (_) {
    return "";
  }
}

async function apiMessages() {
  const out = [];
  if (ui.system.value.trim()) out.push({ role: "system", content: ui.system.value });
  for (const m of state.chat.messages) {
    const msg = { role: m.role, content: m.content };
    for (const a of m.attachments || []) {
      const key = a.type.startsWith("video/") ? "videos" : "images";
      (msg[key] = msg[key] || []).push(await history.blobToBase64(a.blob));
    }
    out.push(msg);
  }
  return out;
}

// Streams the assistant's reply to the conversation as it stands. fromComposer: the last message was
// just sent from the composer; if the server refuses it (a bad image, a prompt longer than the
// context, ...), it goes back to the composer to be fixed, and the conversation stays as it was.
async function generate(fromComposer = false) {
  const model = ui.model.value;
  clearError();
  const m = currentModel();
  if (m && !m.vision && state.chat.messages.some((x) => x.attachments && x.attachments.length)) {
    showError(`${model} cannot see images or videos, and this chat has some: start a new chat, or pick a model ` +
      'marked "vision".');
    if (fromComposer) restoreToComposer(state.chat.messages.pop());
    renderChat();
    return;
  }
  let body;
  try {
    body = { model, messages: await apiMessages(), options: requestOptions() };
  } catch (e) {
    showError(e.message);
    return;
  }
  const reply = { role: "assistant", content: "", model, attachments: [] };
  state.chat.messages.push(reply);
  state.chat.model = model;
  const controller = new AbortController();
  setBusy(controller);
  const view = renderChat().at(-1);
  const t0 = performance.now();
  let first = null;
  let frame = 0;
  try {
    const final = await api.streamChat(body, controller.signal, (piece) => {
      if (first === null) first = performance.now();
      reply.content += piece;
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          view.content.innerHTML = renderMarkdown(reply.content);
          ui.messages.scrollTop = ui.messages.scrollHeight;
        });
      }
    });
    const evalSeconds = (final.eval_duration || 0) / 1e9;
    reply.timings = {
      prompt_tokens: final.prompt_eval_count || 0,
      image_encode_s: (final.media_encode_duration || 0) / 1e9,
      ttft_s: ((first ?? performance.now()) - t0) / 1000,
      eval_tokens: final.eval_count || 0,
      tokens_per_s: evalSeconds > 0 ? (final.eval_count || 0) / evalSeconds : 0,
      device: await deviceOf(model),
    };
  } catch (e) {
    if (e.name === "AbortError") {
      reply.stopped = true;
    } else if (reply.content) {
      reply.stopped = true;  // cut short mid-reply: keep what came
      showError(e.message);
    } else {
      state.chat.messages.pop();  // nothing came: no empty reply left behind
      if (fromComposer) restoreToComposer(state.chat.messages.pop());
      showError(e.message);
    }
  } finally {
    cancelAnimationFrame(frame);
    setBusy(null);
    renderChat();
    await persist();
  }
}

async function send() {
  if (state.controller) return;
  const text = ui.prompt.value.trim();
  if (!text && !state.pending.length) return;
  const m = currentModel();
  if (!m) {
    showError("Pick a model first.");
    return;
  }
  if (state.pending.length && !m.vision) {
    showError(`${m.name} cannot see images or videos: pick a model marked "vision", or remove the attachments.`);
    return;
  }
  clearError();
  state.chat.messages.push({
    role: "user", content: text,
    attachments: state.pending.map(({ blob, name, type }) => ({ blob, name, type })),
  });
  if (state.chat.title === "New chat") state.chat.title = (text || state.pending[0].name).slice(0, 60);
  state.pending = [];
  ui.prompt.value = "";
  renderAttachments();
  await generate(true);
}

function restoreToComposer(message) {
  ui.prompt.value = message.content;
  state.pending = message.attachments.map((a) => ({ ...a, url: urlOf(a.blob) }));
  renderAttachments();
  Promise.all(state.pending.map(measure)).then(updateTileCost);
}

function stop() {
  if (state.controller) state.controller.abort();
}

async function regenerate() {
  if (state.controller) return;
  const msgs = state.chat.messages;
  if (msgs.length && msgs.at(-1).role === "assistant") msgs.pop();
  if (!msgs.length) return;
  await generate();
}

function editMessage(index, div, content) {
  const m = state.chat.messages[index];
  const area = document.createElement("textarea");
  area.className = "edit";
  area.value = m.content;
  area.setAttribute("aria-label", "Edit the message");
  area.dataset.testid = "edit-input";
  const save = actionButton("Save and send", async () => {
    m.content = area.value;
    state.chat.messages.length = index + 1;  // what came after the edited message is replaced
    await generate();
  }, "edit-save");
  const cancel = actionButton("Cancel", () => renderChat(), "edit-cancel");
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(save, cancel);
  content.replaceWith(area);
  div.querySelector(".actions")?.remove();
  div.append(actions);
  area.focus();
}

// ---- chats --------------------------------------------------------------------------------------
async function persist() {
  state.chat.updated = Date.now();
  try {
    await history.saveChat(state.chat);
    localStorage.setItem("smolvlm-ui-current", state.chat.id);
  } catch (e) {
    showError(`This chat could not be saved in the browser: ${e.message}`);
  }
  await renderChatList();
}

async function renderChatList() {
  let chats = [];
  try {
    chats = await history.listChats();
  } catch (_) { /* private mode without IndexedDB: nothing saved */ }
  ui.chatList.replaceChildren(...chats.map((c) => {
    const li = document.createElement("li");
    if (state.chat && c.id === state.chat.id) li.setAttribute("aria-current", "true");
    const open = actionButton(c.title, () => openChat(c.id), "chat-item");
    open.className = "open";
    const del = actionButton("\u00d7", async () => {
      await history.deleteChat(c.id);
      if (state.chat && state.chat.id === c.id) startNewChat();
      await renderChatList();
    }, "chat-delete");
    del.className = "icon";
    del.setAttribute("aria-label", `Delete the chat "${c.title}"`);
    li.append(open, del);
    return li;
  }));
}

async function openChat(id) {
  if (state.controller) return;
  const chat = await history.loadChat(id);
  if (!chat) return startNewChat();
  state.chat = chat;
  if (chat.model && state.models.some((m) => m.name === chat.model)) ui.model.value = chat.model;
  onModelChange();
  localStorage.setItem("smolvlm-ui-current", chat.id);
  renderChat();
  await renderChatList();
  ui.sidebar.classList.remove("open");
}

function startNewChat() {
  if (state.controller) return;
  state.chat = history.newChat(ui.model.value);
  localStorage.removeItem("smolvlm-ui-current");
  clearError();
  renderChat();
  renderChatList();
  ui.prompt.focus();
}

async function exportCurrent() {
  const doc = await history.exportChat(state.chat);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" }));
  a.download = `${state.chat.title.replace(/[^\w.-]+/g, "_") || "chat"}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---- wiring -------------------------------------------------------------------------------------
function wire() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  ui.stop.addEventListener("click", stop);
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.controller) {
      e.preventDefault();
      stop();
    }
  });
  ui.attach.addEventListener("change", () => {
    addFiles([...ui.attach.files]);
    ui.attach.value = "";
  });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) {
      e.preventDefault();
      addFiles(files);
    }
  });
  let depth = 0;
  window.addEventListener("dragenter", (e) => {
    if ([...(e.dataTransfer?.types || [])].includes("Files")) ui.overlay.hidden = ++depth <= 0;
  });
  window.addEventListener("dragleave", () => { ui.overlay.hidden = --depth <= 0; });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    ui.overlay.hidden = true;
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) addFiles(files);
  });
  ui.model.addEventListener("change", onModelChange);
  ui.maxTiles.addEventListener("change", () => {
    saveSettings();
    updateTileCost();
  });
  for (const input of document.querySelectorAll("[data-option]")) input.addEventListener("change", saveSettings);
  ui.system.addEventListener("change", saveSettings);
  $("error-close").addEventListener("click", clearError);
  $("new-chat").addEventListener("click", startNewChat);
  $("export-chat").addEventListener("click", exportCurrent);
  $("toggle-sidebar").addEventListener("click", () => {
    const open = ui.sidebar.classList.toggle("open");
    $("toggle-sidebar").setAttribute("aria-expanded", String(open));
  });
}

async function main() {
  wire();
  restoreSettings();
  await loadModels();
  const current = localStorage.getItem("smolvlm-ui-current");
  if (current) await openChat(current);
  else startNewChat();
  document.body.dataset.ready = "true";  // for tests: the models and the chat are loaded
}

main();
