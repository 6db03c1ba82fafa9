// Operate: queue, workers, throughput and failures over the last hour (the counters behind
// /metrics) and the engine each worker runs, refreshed every few seconds while shown.
import { ApiError, call } from "./api.js";

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);
let timer = null;

export function setUpOperate() {
  $("operate-refresh").addEventListener("click", refresh);
}

export function showOperate(visible) {
  clearInterval(timer);
  timer = null;
  if (visible) {
    refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }
}

async function refresh() {
  try {
    const s = await call("/lampyris/v1/server");
    $("operate-error").hidden = true;
    const hour = s.lastHour || {};
    const engine = s.engine || {};
    const rows = [
      ["Version", s.version],
      ["Workers", `${s.busy ?? 0} busy of ${s.workers ?? 0}${s.ready === false ? " (starting)" : ""}`],
      ["Executor", s.executor],
      ["Queue", `${s.pending ?? 0} waiting, ${s.running ?? 0} running`],
      ["Jobs per second (last hour)", Number(hour.jobsPerSecond || 0).toFixed(3)],
      ["Succeeded (last hour)", hour.succeeded ?? 0],
      ["Failed (last hour)", hour.failed ?? 0],
      ["Cancelled (last hour)", hour.cancelled ?? 0],
      ["Model", engine.model],
      ["Runtime", [engine.runtime, engine.precision].filter(Boolean).join(", ")],
      ["Why this runtime", engine.reason],
    ];
    $("server-stats").replaceChildren(...rows.flatMap(([name, value]) => [
      Object.assign(document.createElement("dt"), { textContent: name }),
      Object.assign(document.createElement("dd"), { textContent: value ?? "—" }),
    ]));
    const byOp = Object.entries(hour.byOp || {});
    $("by-op").replaceChildren(...byOp.map(([op, counts]) => {
      const row = document.createElement("tr");
      for (const cell of [op, counts.succeeded ?? 0, counts.failed ?? 0]) {
        row.append(Object.assign(document.createElement("td"), { textContent: cell }));
      }
      return row;
    }));
  } catch (error) {
    const node = $("operate-error");
    node.textContent = error instanceof ApiError ? error.words : String(error);
    node.hidden = false;
  }
}
