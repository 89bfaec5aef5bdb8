// arrowds viewer: pages through a dataset lazily over the JSON API of arrowds/viewer/api.py.
// Every string that comes from the data reaches the DOM through text nodes (textContent),
// never as HTML: a label "<script>" is shown as text.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#0082c8", "#f58230", "#911eb4",
                 "#46f0f0", "#f032e6", "#d2f53c", "#fabed4", "#008080", "#dcbeff"];
const state = { info: null, version: "", query: "", offset: 0, limit: 24, total: 0, rows: [], detail: null };
const $ = (id) => document.getElementById(id);

// -- helpers ------------------------------------------------------------------------------
/** An element with attributes (set as properties/attributes, never HTML) and children (nodes or text). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

async function api(path, params) {
  const r = await fetch("/api/" + path + query(params || {}));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function itemUrl(what, tensor, index, params) {
  const name = tensor.split("/").map(encodeURIComponent).join("/");
  return "/api/" + what + "/" + name + "/" + index + query({ version: state.version, ...(params || {}) });
}

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text || "";
  s.classList.toggle("error", !!isError);
}

function tensor(name) { return state.info.tensors.find((t) => t.name === name); }
function group(name) { return name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ""; }
function short(id) { return id ? id.slice(0, 8) : ""; }
function fmt(x) { return typeof x === "number" && !Number.isInteger(x) ? x.toPrecision(4) : String(x); }

// -- URL hash: version, filter, page and open sample survive a reload ---------------------
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  state.version = h.get("v") || "";
  state.query = h.get("q") || "";
  state.offset = Math.max(0, parseInt(h.get("o") || "0", 10) || 0);
  state.limit = Math.min(200, Math.max(1, parseInt(h.get("n") || "24", 10) || 24));
  return { sample: h.get("s"), frame: h.get("f") };
}

function writeHash() {
  const h = new URLSearchParams();
  if (state.version && state.version !== state.info.default_version) h.set("v", state.version);
  if (state.query) h.set("q", state.query);
  if (state.offset) h.set("o", state.offset);
  if (state.limit !== 24) h.set("n", state.limit);
  if (state.detail !== null) h.set("s", state.detail);
  history.replaceState(null, "", "#" + h.toString());
}

// -- overlays: boxes, keypoints, points, polygons over an image ---------------------------
function boxRect(b, coords, w, h) {
  const mode = (coords && coords.mode) || "LTWH";
  if (mode === "TLBR") {  // TFDS: ymin, xmin, ymax, xmax
    let [t, l, bt, r] = b.map(Number);
    if (coords.type === "fractional") { t *= h; bt *= h; l *= w; r *= w; }
    return [l, t, r - l, bt - t];
  }
  let [x0, y0, a, c] = b.map(Number);
  if (coords && coords.type === "fractional") { x0 *= w; a *= w; y0 *= h; c *= h; }
  if (mode === "LTRB") return [x0, y0, a - x0, c - y0];
  if (mode === "CCWH") return [x0 - a / 2, y0 - c / 2, a, c];
  return [x0, y0, a, c];
}

/** Names of the class labels that go with the boxes of a sample (same group, same count). */
function boxLabels(cells, boxTensor, count) {
  for (const t of state.info.tensors) {
    const c = cells[t.name];
    if (t.kind === "label" && group(t.name) === group(boxTensor) && c && c.values && c.values.length === count && count > 1)
      return c.values.map((v, k) => c.names[k] ?? String(v));
  }
  return null;
}

function drawOverlay(svgEl, t, cell, cells, w, h, colorIndex) {
  const color = PALETTE[colorIndex % PALETTE.length];
  if (cell.kind === "bbox") {
    const names = boxLabels(cells, t.name, cell.boxes.length);
    cell.boxes.forEach((b, k) => {
      const [x, y, bw, bh] = boxRect(b, t.coords, w, h);
      const c = names ? PALETTE[k % PALETTE.length] : color;
      const r = svg("rect", { class: "box", x, y, width: bw, height: bh, stroke: c, "data-tensor": t.name });
      svgEl.append(r);
      if (names) {
        const label = svg("text", { x: x + 2, y: y + 12 });
        label.textContent = names[k];
        svgEl.append(label);
      }
    });
  } else if (cell.kind === "polygon") {
    for (const poly of cell.polygons) {
      const pts = poly.map((p) => p[0] + "," + p[1]).join(" ");
      svgEl.append(svg("polygon", { class: "poly", points: pts, stroke: color, fill: color, "data-tensor": t.name }));
    }
  } else if (cell.kind === "keypoints" || cell.kind === "points") {
    const r = Math.max(w, h) / 120 + 1;
    cell.objects.forEach((obj, k) => {
      const c = PALETTE[(colorIndex + k) % PALETTE.length];
      for (const p of obj) {
        if (p.length > 2 && Number(p[2]) === 0) continue; // COCO visibility 0: not labelled
        svgEl.append(svg("circle", { class: "kp", cx: p[0], cy: p[1], r, fill: c, "data-tensor": t.name }));
      }
    });
  }
}

/** The picture of an image tensor with every overlay tensor that belongs to it. */
function figure(imageName, index, cells, size) {
  const cell = cells[imageName];
  const fig = el("figure", { class: "media" });
  if (!cell || cell.kind !== "image") return fig;
  const [h, w] = cell.shape;
  fig.append(el("img", { class: "thumb", src: itemUrl("thumb", imageName, index, { size }), alt: imageName,
                         width: w, height: h, loading: "lazy" }));
  const overlay = svg("svg", { class: "overlay", viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none" });
  let k = 0;
  for (const t of state.info.tensors) {
    if (t.base !== imageName || !cells[t.name]) continue;
    const c = cells[t.name];
    if (c.kind === "mask") {
      fig.append(el("img", { class: "mask", src: itemUrl("mask", t.name, index, { size }), alt: "" }));
    } else {
      drawOverlay(overlay, t, c, cells, w, h, k++);
    }
  }
  fig.append(overlay);
  return fig;
}

// -- fields: everything that is not drawn over an image -----------------------------------
function field(name, cell, index, detail) {
  const t = tensor(name);
  const f = el("div", { class: "field", "data-tensor": name });
  f.append(el("span", { class: "name", text: name }));
  switch (cell.kind) {
    case "label":
      cell.values.forEach((v, k) => f.append(el("span", { class: "label-chip", text: cell.names[k] ?? String(v) })));
      break;
    case "text":
      f.append(el("pre", { text: cell.value + (cell.truncated ? " …" : "") }));
      break;
    case "json":
      f.append(el("pre", { text: cell.value + (cell.truncated ? " …" : "") }));
      break;
    case "list":
      f.append(el("span", { text: cell.value.join(", ") + (cell.length > cell.value.length ? ", …" : "") }));
      break;
    case "audio":
      if (cell.stored || t.kind === "audio")
        f.append(el("audio", { controls: true, preload: detail ? "metadata" : "none", src: itemUrl("media", name, index) }));
      f.append(el("span", { class: "shape", text: " " + cell.shape.join("×") }));
      break;
    case "video":
      f.append(videoPlayer(name, index, cell, detail));
      break;
    case "image":
      f.append(el("span", { text: cell.shape.join("×") + (t.compression ? " " + t.compression : "") }));
      break;
    case "mask":
      f.append(el("span", { text: `${t.htype} ${cell.shape.join("×")}` + (t.base ? "" : " (no image to draw on)") }));
      break;
    case "bbox": case "polygon": case "keypoints": case "points": {
      const n = cell.boxes ? cell.boxes.length : cell.polygons ? cell.polygons.length : cell.objects.length;
      f.append(el("span", { text: `${n} ${cell.kind}` + (t.base ? "" : " (no image to draw on)") }));
      if (detail) f.append(el("pre", { text: JSON.stringify(cell.boxes || cell.polygons || cell.objects) }));
      break;
    }
    case "numeric": {
      let s = `${cell.shape.length ? cell.shape.join("×") : "scalar"} ${cell.dtype}`;
      if (cell.values !== undefined) s += " = " + JSON.stringify(cell.values, (k, v) => (typeof v === "number" ? Number(fmt(v)) : v));
      else if (cell.min !== undefined) s += ` min ${fmt(cell.min)} max ${fmt(cell.max)} mean ${fmt(cell.mean)}`;
      f.append(detail ? el("pre", { text: s }) : el("span", { text: s }));
      break;
    }
    case "error":
      f.append(el("span", { class: "error-cell", text: cell.message }));
      break;
    default:
      f.append(el("span", { text: "(empty)" }));
  }
  return f;
}

function videoPlayer(name, index, cell, detail, frame) {
  const t = tensor(name);
  const wrap = el("div", { class: "video" });
  if (!cell.stored) {
    wrap.append(el("img", { class: "thumb", src: itemUrl("thumb", name, index, { frame: frame || 0 }), alt: name }));
    wrap.append(el("span", { text: " raw frames " + cell.shape.join("×") }));
    return wrap;
  }
  const info = cell.sample_info || {};
  const fps = Number(info.fps || t.fps || 30);
  const start = Math.max(0, Number(frame || 0));
  const player = el("video", { controls: true, preload: detail ? "metadata" : "none", muted: true,
                               poster: itemUrl("thumb", name, index, { frame: start }),
                               src: itemUrl("media", name, index) + (start ? "#t=" + (start / fps).toFixed(3) : "") });
  player.dataset.fps = fps;
  player.addEventListener("loadedmetadata", () => { if (start) player.currentTime = start / fps; });
  wrap.append(player);
  const desc = `${cell.shape[0]} frames` + (info.fps ? ` at ${fmt(info.fps)} fps` : "");
  wrap.append(el("span", { class: "shape", text: " " + desc }));
  if (detail) {
    const input = el("input", { class: "frame-input", type: "number", min: 0, max: cell.shape[0] - 1, value: start,
                                "aria-label": "start frame" });
    input.addEventListener("change", () => {
      const k = Math.max(0, parseInt(input.value, 10) || 0);
      player.poster = itemUrl("thumb", name, index, { frame: k });
      player.currentTime = k / fps;
    });
    wrap.append(el("label", {}, " start at frame ", input));
  }
  return wrap;
}

/** The first image tensor of the row (the one overlays draw on), or null. */
function mainImage() {
  const img = state.info.tensors.find((t) => t.kind === "image");
  return img ? img.name : null;
}

function card(row) {
  const c = el("article", { class: "card", "data-index": row.index, tabindex: 0 });
  c.append(el("div", { class: "index", text: "#" + row.index }));
  const images = state.info.tensors.filter((t) => t.kind === "image");
  for (const t of images) c.append(figure(t.name, row.index, row.cells, 256));
  for (const t of state.info.tensors) {
    if (t.kind === "image" || (t.base && t.kind !== "label")) continue;
    c.append(field(t.name, row.cells[t.name] || { kind: "empty" }, row.index, false));
  }
  c.addEventListener("click", (ev) => {
    if (ev.target.closest("audio, video, input")) return;
    openDetail(row.index);
  });
  c.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openDetail(row.index); });
  return c;
}

// -- grid and paging ----------------------------------------------------------------------
async function loadPage() {
  setStatus("loading…");
  let page;
  try {
    page = await api("samples", { offset: state.offset, limit: state.limit, version: state.version, q: state.query });
  } catch (e) {
    setStatus(e.message, true);
    $("grid").replaceChildren();
    $("page-info").textContent = "";
    $("prev").disabled = $("next").disabled = true;
    return;
  }
  state.total = page.total;
  state.rows = page.rows;
  $("grid").replaceChildren(...page.rows.map(card));
  const pages = Math.max(1, Math.ceil(page.total / state.limit));
  const current = Math.floor(state.offset / state.limit) + 1;
  $("page-info").textContent = `page ${current} of ${pages} · rows ${page.total ? state.offset + 1 : 0}–` +
    `${state.offset + page.rows.length} of ${page.total}` + (state.query ? " matching the filter" : "");
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + state.limit >= page.total;
  setStatus("");
  document.body.dataset.loaded = `${state.version}|${state.query}|${state.offset}`;
  writeHash();
}

function go(offset) {
  state.offset = Math.max(0, offset);
  loadPage();
}

// -- detail view --------------------------------------------------------------------------
async function openDetail(index, frame) {
  let s;
  try {
    s = await api("sample/" + index, { version: state.version });
  } catch (e) {
    setStatus(e.message, true);
    return;
  }
  state.detail = index;
  $("detail-title").textContent = `Sample #${index} of ${s.length}` + (state.version ? ` at ${state.version}` : "");
  const body = $("detail-body");
  const pics = el("div", { class: "pictures" });
  const fields = el("div", { class: "fields" });
  for (const t of state.info.tensors.filter((x) => x.kind === "image")) pics.append(figure(t.name, index, s.cells, 1024));
  for (const t of state.info.tensors) {
    if (t.kind === "image") { fields.append(field(t.name, s.cells[t.name], index, true)); continue; }
    const cell = s.cells[t.name] || { kind: "empty" };
    if (t.kind === "video") {
      const f = el("div", { class: "field", "data-tensor": t.name }, el("span", { class: "name", text: t.name }));
      f.append(videoPlayer(t.name, index, cell, true, frame));
      (t.base ? fields : pics).append(f);
    } else {
      fields.append(field(t.name, cell, index, true));
    }
  }
  body.replaceChildren(pics, fields);
  $("detail").hidden = false;
  writeHash();
}

function closePanel(id) {
  $(id).hidden = true;
  if (id === "detail") { state.detail = null; writeHash(); }
}

function stepDetail(delta) {
  const k = state.rows.findIndex((r) => r.index === state.detail);
  if (k >= 0 && state.rows[k + delta]) openDetail(state.rows[k + delta].index);
  else if (state.detail !== null) {
    const next = state.detail + delta;
    if (next >= 0 && next < state.info.length && !state.query) openDetail(next);
  }
}

// -- versions: picker, log, diff ----------------------------------------------------------
function versionOptions(select, commits, selected) {
  const opts = [];
  const branches = el("optgroup", { label: "branches" });
  for (const b of state.info.branches) branches.append(el("option", { value: b, text: b }));
  opts.push(branches);
  if (state.info.tags.length) {
    const tags = el("optgroup", { label: "tags" });
    for (const t of state.info.tags) tags.append(el("option", { value: t, text: t }));
    opts.push(tags);
  }
  if (commits && commits.length) {
    const cs = el("optgroup", { label: "commits" });
    for (const c of commits) cs.append(el("option", { value: c.id, text: `${short(c.id)} ${c.message}` }));
    opts.push(cs);
  }
  select.replaceChildren(...opts);
  if (selected && ![...select.options].some((o) => o.value === selected))
    select.prepend(el("option", { value: selected, text: selected }));
  select.value = selected || "";
}

async function loadInfo() {
  state.info = await api("info", { version: state.version });
  state.version = state.version || state.info.default_version;
  $("dataset-url").textContent = state.info.url + (state.info.restricted ? " (a view)" : "");
  document.title = "arrowds · " + state.info.url;
  let commits = [];
  try { commits = (await api("log", { version: state.info.branch })).commits; } catch (e) { /* no history yet */ }
  state.commits = commits;
  versionOptions($("version"), commits, state.version);
}

async function switchVersion(v) {
  state.version = v;
  state.offset = 0;
  try {
    await loadInfo();
  } catch (e) {
    setStatus(e.message, true);
    return;
  }
  await loadPage();
  if (!$("versions").hidden) await openVersions();
}

async function openVersions() {
  $("versions").hidden = false;
  $("log-version").textContent = state.version;
  let log;
  try {
    log = await api("log", { version: state.version });
  } catch (e) {
    setStatus(e.message, true);
    return;
  }
  const items = log.commits.map((c, k) => {
    const view = el("button", { type: "button", text: "view", onclick: () => switchVersion(c.id) });
    const parent = c.parents[0];
    const diff = parent ? el("button", { type: "button", text: "diff with parent", onclick: () => showDiff(parent, c.id) }) : null;
    const when = new Date(c.time * 1000).toLocaleString();
    return el("li", { "data-commit": c.id },
      el("code", { text: short(c.id) }), " ", el("span", { class: "message", text: c.message || "(no message)" }), " ",
      view, " ", diff, el("div", { class: "meta", text: `${c.author} · ${when}` + (k === 0 ? " · newest" : "") }));
  });
  $("log").replaceChildren(...items);
  const all = log.commits;
  versionOptions($("diff-a"), all, all[1] ? all[1].id : (all[0] ? all[0].id : state.version));
  versionOptions($("diff-b"), all, state.version);
}

async function showDiff(a, b) {
  const out = $("diff-result");
  out.replaceChildren(el("p", { text: "computing…" }));
  let d;
  try {
    d = await api("diff", { a, b });
  } catch (e) {
    out.replaceChildren(el("p", { class: "error-cell", text: e.message }));
    return;
  }
  const head = el("tr", {}, ...["tensor", "added", "updated", "deleted", "notes"].map((h) => el("th", { text: h })));
  const rows = d.tensors.map((t) => {
    const notes = ["created", "removed", "info_updated"].filter((k) => t[k]).join(", ");
    const cells = ["added", "updated", "deleted"].map((k) =>
      el("td", { class: "num " + k, title: t[k + "_rows"].join(", "), text: String(t[k]) }));
    return el("tr", { "data-tensor": t.name }, el("td", { text: t.name }), ...cells, el("td", { text: notes }));
  });
  out.replaceChildren(el("p", { text: `${short(d.a) || d.a} → ${short(d.b) || d.b}` }), el("table", { class: "diff" }, head, ...rows));
}

// -- wiring -------------------------------------------------------------------------------
function wire() {
  $("prev").addEventListener("click", () => go(state.offset - state.limit));
  $("next").addEventListener("click", () => go(state.offset + state.limit));
  $("page-size").addEventListener("change", (e) => { state.limit = parseInt(e.target.value, 10); go(0); });
  $("version").addEventListener("change", (e) => switchVersion(e.target.value));
  $("filter-form").addEventListener("submit", (e) => { e.preventDefault(); state.query = $("filter").value.trim(); go(0); });
  $("filter-clear").addEventListener("click", () => { $("filter").value = ""; state.query = ""; go(0); });
  $("show-masks").addEventListener("change", (e) => document.body.classList.toggle("hide-masks", !e.target.checked));
  $("show-boxes").addEventListener("change", (e) => document.body.classList.toggle("hide-boxes", !e.target.checked));
  $("log-button").addEventListener("click", openVersions);
  $("diff-form").addEventListener("submit", (e) => { e.preventDefault(); showDiff($("diff-a").value, $("diff-b").value); });
  $("detail-prev").addEventListener("click", () => stepDetail(-1));
  $("detail-next").addEventListener("click", () => stepDetail(1));
  for (const b of document.querySelectorAll("[data-close]")) b.addEventListener("click", () => closePanel(b.dataset.close));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { closePanel("detail"); closePanel("versions"); }
    if (!$("detail").hidden && e.key === "ArrowRight") stepDetail(1);
    if (!$("detail").hidden && e.key === "ArrowLeft") stepDetail(-1);
  });
}

async function main() {
  wire();
  const { sample, frame } = readHash();
  $("filter").value = state.query;
  $("page-size").value = String(state.limit);
  try {
    await loadInfo();
  } catch (e) {
    setStatus(e.message, true);
    return;
  }
  await loadPage();
  if (sample !== null) openDetail(parseInt(sample, 10), frame ? parseInt(frame, 10) : 0);
}

main();
