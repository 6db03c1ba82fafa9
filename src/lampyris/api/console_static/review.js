// Review: the signed-in client's job history (paged, filtered by operation and state) with
// each job's inputs, outputs, settings and error; batch reports with before/after thumbnails,
// likely failures first, where an item can be rejected or sent back to Try for a re-run.
import { ApiError, blobUrl, call } from "./api.js";
import { describeJobError } from "./words.js";
import { addUpload } from "./try.js";

const $ = (id) => document.getElementById(id);
const pages = []; // cursors of the pages shown before the current one
let cursor = null;
let nextCursor = null;
let reports = [];

export function setUpReview() {
  $("jobs-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    pages.length = 0;
    cursor = null;
    loadJobs();
  });
  $("jobs-older").addEventListener("click", () => { pages.push(cursor); cursor = nextCursor; loadJobs(); });
  $("jobs-newer").addEventListener("click", () => { pages.length = 0; cursor = null; loadJobs(); });
  $("report").addEventListener("change", showRuns);
  $("report-open").addEventListener("click", openReport);
}

/** Refresh both lists (the tab was opened). */
export async function showReview() {
  await Promise.all([loadJobs(), loadReports()]);
}

async function loadJobs() {
  const query = new URLSearchParams({ limit: "20" });
  if ($("jobs-op").value) query.set("op", $("jobs-op").value);
  if ($("jobs-state").value) query.set("state", $("jobs-state").value);
  if (cursor) query.set("before", cursor);
  const list = $("jobs");
  try {
    const data = await call(`/lampyris/v1/jobs?${query}`);
    hide("jobs-error");
    nextCursor = data.next;
    list.replaceChildren(...data.jobs.map(jobRow));
    if (!data.jobs.length) list.append(text("li", "No jobs match — run something in Try, or change the filters.", "hint"));
    $("jobs-older").hidden = !nextCursor;
    $("jobs-newer").hidden = !cursor;
  } catch (error) {
    shout("jobs-error", error);
  }
}

function jobRow(job) {
  const item = document.createElement("li");
  item.className = `job ${job.state}`;
  item.dataset.jobId = job.id;
  const button = text("button", `${job.op} · ${job.state} · ${when(job.created)}`);
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => showJob(job, button));
  item.append(button);
  if (job.error) item.append(text("p", describeJobError(job.error), "alert reason"));
  return item;
}

function showJob(job, button) {
  document.querySelectorAll("#jobs button[aria-expanded]").forEach((b) => b.setAttribute("aria-expanded", "false"));
  button.setAttribute("aria-expanded", "true");
  const panel = $("job-detail");
  const parts = [text("h4", `Job ${job.id}`), text("p", `${job.kind} ${job.op}: ${job.state}` +
    (job.progress !== null && job.progress !== undefined && job.state === "running" ? ` (${job.progress} %)` : ""))];
  if (job.error) {
    parts.push(text("p", describeJobError(job.error), "alert"));
    parts.push(text("p", `Server said: ${job.error.message}`, "hint"));
  }
  parts.push(text("h5", "Inputs"), links(job.inputs.map((i) => [i.name, i.url])));
  parts.push(text("h5", "Outputs"), links(job.outputs.map((o, n) => [`output ${n + 1} (${o.mediaType}${o.width ? `, ${o.width}×${o.height}` : ""})`, o.url])));
  const thumbs = document.createElement("div");
  thumbs.className = "thumbs";
  for (const output of job.outputs) {
    if (output.url && output.mediaType?.startsWith("image/")) {
      thumbs.append(Object.assign(document.createElement("img"), { src: output.url, alt: `Output of job ${job.id}`, className: "checker" }));
    }
  }
  parts.push(thumbs);
  if (job.review) parts.push(text("h5", "Review"), reviewLine(job.review));
  if (job.webhooks?.length) parts.push(text("h5", "Webhooks"), deliveries(job.webhooks));
  parts.push(text("h5", "Settings"), text("pre", JSON.stringify(job.settings, null, 2)));
  panel.replaceChildren(...parts);
  panel.hidden = false;
  panel.focus();
}

/** A job's review as one line: its score, and why when it is flagged. */
function reviewLine(review) {
  const why = review.reasons?.length ? `: ${review.reasons.join(", ")}` : "";
  return review.flag
    ? text("p", `Check this result — score ${review.score} is below ${review.threshold}${why}.`, "alert review-flag")
    : text("p", `Looks fine — score ${review.score} (flagged below ${review.threshold}).`, "review-ok");
}

/** Each callback of a job: where it went, what became of it, and what the receiver said. */
function deliveries(webhooks) {
  const list = document.createElement("ul");
  list.className = "webhooks";
  for (const hook of webhooks) {
    const tries = `${hook.attempts} ${hook.attempts === 1 ? "try" : "tries"}`;
    const said = hook.lastStatus ? `, last answer HTTP ${hook.lastStatus}` : hook.lastError ? `, last error: ${hook.lastError}` : "";
    const next = hook.nextAttempt ? `, next try ${when(hook.nextAttempt)}` : "";
    const item = text("li", `${hook.state}${hook.event ? ` · ${hook.event}` : ""} → ${hook.url} (${tries}${said}${next})`);
    item.className = `delivery ${hook.state}`;
    list.append(item);
  }
  return list;
}

function links(pairs) {
  const list = document.createElement("ul");
  for (const [name, url] of pairs) {
    const item = document.createElement("li");
    if (url) {
      item.append(Object.assign(document.createElement("a"), { href: url, textContent: name || url, target: "_blank", rel: "noopener" }));
    } else {
      item.textContent = `${name || "input"} (not shown)`;
    }
    list.append(item);
  }
  if (!pairs.length) list.append(text("li", "none"));
  return list;
}

async function loadReports() {
  try {
    reports = (await call("/lampyris/v1/reports")).reports;
    hide("reports-error");
    const select = $("report");
    select.replaceChildren(...reports.map((r) => option(r.id, r.error ? `${r.name || r.path} (unreadable)` : r.name || r.path)));
    $("report-pick").hidden = !reports.length;
    $("report-note").textContent = reports.length ? "" : "No batch reports: start the server with LAMPYRIS_CONSOLE_REPORTS naming the folders of your ledgers.";
    showRuns();
  } catch (error) {
    shout("reports-error", error);
  }
}

function showRuns() {
  const report = reports.find((r) => r.id === $("report").value);
  const runs = report ? [...(report.runs || [])].reverse() : [];
  if (report?.error) $("report-note").textContent = `This report cannot be read: ${report.error}`;
  $("report-run").replaceChildren(...runs.map((run) => option(run.runId,
    `${when(run.started)}: ${run.done} done, ${run.failed} failed, ${run.skipped} skipped`)));
}

async function openReport() {
  const id = $("report").value;
  if (!id) return;
  const query = new URLSearchParams({ sort: "review" });
  if ($("report-run").value) query.set("run", $("report-run").value);
  try {
    const data = await call(`/lampyris/v1/reports/${encodeURIComponent(id)}/items?${query}`);
    hide("reports-error");
    $("report-note").textContent = `${data.items.length} item(s), likely problems first.`;
    $("report-items").replaceChildren(...data.items.map((item) => itemCard(id, item)));
  } catch (error) {
    shout("reports-error", error);
  }
}

function itemCard(reportId, item) {
  const card = document.createElement("li");
  card.className = `item ${item.state}`;
  card.dataset.key = item.key;
  card.dataset.state = item.state;
  card.append(text("h4", item.source || item.key));
  const pair = document.createElement("div");
  pair.className = "pair";
  for (const [url, what] of [[item.thumbBefore, "before"], [item.thumbAfter, "after"]]) {
    if (!url) {
      pair.append(text("span", `no ${what} thumbnail`, "hint nothumb"));
      continue;
    }
    const img = document.createElement("img");
    img.alt = `${item.source || item.key}: ${what}`;
    img.className = "checker";
    blobUrl(url).then((src) => { img.src = src; }).catch(() => { img.alt += " (unavailable)"; });
    pair.append(img);
  }
  card.append(pair);
  if (item.state === "failed") {
    card.append(text("p", describeJobError({ message: item.error || "" }), "alert"));
  }
  card.append(text("p", item.reason || item.state, "reason"));
  const reject = text("button", item.rejected ? "Accept again" : "Reject");
  reject.type = "button";
  reject.setAttribute("aria-pressed", String(Boolean(item.rejected)));
  reject.addEventListener("click", () => toggleReject(reportId, item, card));
  const rerun = text("button", "Re-run in Try");
  rerun.type = "button";
  rerun.addEventListener("click", () => sendToTry(reportId, item, card));
  const actions = document.createElement("div");
  actions.className = "row";
  actions.append(reject, rerun);
  card.append(actions);
  return card;
}

async function toggleReject(reportId, item, card) {
  try {
    const updated = await call(`/lampyris/v1/reports/${encodeURIComponent(reportId)}/items/${encodeURIComponent(item.key)}/reject`,
      { method: "POST", json: { rejected: !item.rejected, note: "" } });
    card.replaceWith(itemCard(reportId, { ...item, ...updated }));
  } catch (error) {
    card.append(text("p", words(error), "alert"));
  }
}

async function sendToTry(reportId, item, card) {
  try {
    const data = await call(`/lampyris/v1/reports/${encodeURIComponent(reportId)}/items/${encodeURIComponent(item.key)}/upload`, { method: "POST", json: {} });
    const before = item.thumbBefore ? await blobUrl(item.thumbBefore) : "";
    addUpload(item.source || item.key, data.images[0].id, before);
    location.hash = "#try";
    document.getElementById("op").focus();
  } catch (error) {
    card.append(text("p", words(error), "alert"));
  }
}

function words(error) {
  return error instanceof ApiError ? error.words : String(error.message || error);
}

function shout(id, error) {
  const node = $(id);
  node.textContent = words(error);
  node.hidden = false;
}

function hide(id) {
  $(id).hidden = true;
}

function option(value, label) {
  return Object.assign(document.createElement("option"), { value, textContent: label });
}

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
