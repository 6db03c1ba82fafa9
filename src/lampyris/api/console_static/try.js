// Try: pick or drop images, choose an operation and its options, run it on every image
// through the public routes, and show each result beside its input with live progress.
import { ApiError, upload } from "./api.js";
import { compare } from "./slider.js";
import { run } from "./operations.js";

const SLIDERS = [
  ["light", "exposure", -5, 5, 0.1], ["light", "contrast", -100, 100, 1],
  ["light", "highlights", -100, 100, 1], ["light", "shadows", -100, 100, 1],
  ["light", "whites", -100, 100, 1], ["light", "blacks", -100, 100, 1],
  ["color", "saturation", -100, 100, 1], ["color", "vibrance", -100, 100, 1],
  ["effects", "clarity", -100, 100, 1], ["effects", "vignette", -100, 100, 1],
];
const PARALLEL = 2;
const inputs = []; // {name, file | null, uploadId | null, beforeUrl}
const $ = (id) => document.getElementById(id);

export function setUpTry() {
  buildSliders();
  $("files").addEventListener("change", () => pick([...$("files").files]));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    pick([...event.dataTransfer.files].filter((f) => f.type.startsWith("image/")));
  });
  $("op").addEventListener("change", showOptions);
  $("try-form").addEventListener("submit", (event) => { event.preventDefault(); runAll(); });
  showOptions();
}

/** Queue an image already stored as an upload (a batch item sent back for a re-run). */
export function addUpload(name, uploadId, beforeUrl) {
  inputs.splice(0, inputs.length, { name, file: null, uploadId, beforeUrl });
  listPicked();
}

function pick(files) {
  inputs.forEach((input) => input.file && URL.revokeObjectURL(input.beforeUrl));
  inputs.splice(0, inputs.length, ...files.map((file) => ({
    name: file.name, file, uploadId: null, beforeUrl: URL.createObjectURL(file),
  })));
  listPicked();
}

function listPicked() {
  const names = inputs.map((input) => input.name);
  $("picked").textContent = names.length
    ? `${names.length} image${names.length > 1 ? "s" : ""}: ${names.join(", ")}` : "No images picked.";
  $("run").textContent = names.length > 1 ? `Run on ${names.length} images` : "Run";
}

function showOptions() {
  const op = $("op").value;
  for (const node of document.querySelectorAll("#try-form [data-for]")) {
    node.hidden = !node.dataset.for.split(" ").includes(op);
  }
}

function buildSliders() {
  const grid = $("edit-sliders");
  for (const [group, name, min, max, step] of SLIDERS) {
    const label = document.createElement("label");
    label.htmlFor = `edit-${name}`;
    label.textContent = name[0].toUpperCase() + name.slice(1);
    const input = Object.assign(document.createElement("input"), {
      type: "range", id: `edit-${name}`, min, max, step, value: 0,
    });
    input.dataset.group = group;
    input.dataset.name = name;
    const value = document.createElement("output");
    value.htmlFor = input.id;
    value.textContent = "0";
    input.addEventListener("input", () => { value.textContent = input.value; });
    grid.append(label, input, value);
  }
}

/** The settings the form shows now, as the operation's options. */
function settings() {
  const op = $("op").value;
  const edits = {};
  for (const input of document.querySelectorAll("#edit-sliders input")) {
    if (Number(input.value) !== 0) {
      edits[input.dataset.group] = { ...edits[input.dataset.group], [input.dataset.name]: Number(input.value) };
    }
  }
  return {
    op,
    mode: $("cut-mode").value, trim: $("cut-trim").checked, padding: $("cut-padding").value.trim(),
    canvas: $("cut-canvas").value.trim(), shadow: $("cut-shadow").checked,
    background: $("cut-use-bg").checked ? $("cut-bg").value : null,
    prompt: $("gen-prompt").value.trim(), engine: $("gen-engine").value,
    width: Number($("gen-width").value) || null, height: Number($("gen-height").value) || null,
    edits,
  };
}

async function runAll() {
  if (!inputs.length) {
    $("run-note").textContent = "Pick at least one image first.";
    $("files").focus();
    return;
  }
  const chosen = settings();
  if (["fill", "composite", "expand"].includes(chosen.op) && !chosen.prompt) {
    $("run-note").textContent = "Write a prompt first — it says what to paint.";
    $("gen-prompt").focus();
    return;
  }
  $("run-note").textContent = `Running ${chosen.op} on ${inputs.length} image(s)…`;
  const queue = inputs.map((input) => ({ input, card: card(input, chosen.op) }));
  const workers = Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
    while (queue.length) {
      const { input, card: node } = queue.shift();
      await runOne(input, chosen, node);
    }
  });
  await Promise.all(workers);
  $("run-note").textContent = "Done.";
}

async function runOne(input, chosen, node) {
  const status = node.querySelector(".state");
  const bar = node.querySelector("progress");
  const report = (text, percent) => {
    status.textContent = text;
    if (percent === null || percent === undefined) bar.removeAttribute("value");
    else bar.value = percent;
  };
  try {
    report("Uploading…", 5);
    if (!input.uploadId) input.uploadId = await upload(input.file);
    // a batch item's before image is its thumbnail, not its size: the server then decides
    const size = input.file ? await imageSize(input.beforeUrl) : null;
    const result = await run(chosen, input.uploadId, size, report);
    report("Done", 100);
    node.dataset.state = "succeeded";
    node.append(compare(input.beforeUrl, result.url, input.name), download(result.url, input.name, chosen.op));
  } catch (error) {
    node.dataset.state = "failed";
    bar.value = 0;
    const words = error instanceof ApiError ? error.words : String(error.message || error);
    status.textContent = "Failed";
    const alert = Object.assign(document.createElement("p"), { className: "alert", textContent: words });
    alert.setAttribute("role", "alert");
    node.append(alert);
    if (error instanceof ApiError && error.detail) {
      node.append(Object.assign(document.createElement("p"), { className: "hint", textContent: `Server said: ${error.detail}` }));
    }
  }
}

function card(input, op) {
  const node = document.createElement("li");
  node.className = "result";
  node.dataset.state = "running";
  node.dataset.name = input.name;
  const title = Object.assign(document.createElement("h3"), { textContent: `${input.name} — ${op}` });
  const state = Object.assign(document.createElement("p"), { className: "state", textContent: "Waiting…" });
  state.setAttribute("role", "status");
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.setAttribute("aria-label", `Progress of ${input.name}`);
  node.append(title, state, bar);
  $("results").prepend(node);
  return node;
}

function download(url, name, op) {
  const link = document.createElement("a");
  link.href = url;
  const extension = new URL(url, location.href).pathname.split(".").pop();
  link.download = `${name.replace(/\.[^.]+$/, "")}-${op}.${extension}`;
  link.textContent = `Download ${link.download}`;
  link.className = "download";
  return link;
}

function imageSize(url) {
  return new Promise((resolve) => {
    const probe = new Image();
    probe.onload = () => resolve({ width: probe.naturalWidth, height: probe.naturalHeight });
    probe.onerror = () => resolve(null);
    probe.src = url;
  });
}

