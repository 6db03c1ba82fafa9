// Each operation as the wire asks for it (Photoshop v2, Firefly v3), then polled to its
// result: the same routes any client uses. `report(text, percent)` shows progress.
import { ApiError, call, sleep, upload } from "./api.js";
import { describe } from "./words.js";

const POLL_MS = 400;

/** Run `chosen` on an uploaded image; resolves to {url} of the first output. */
export async function run(chosen, uploadId, size, report) {
  const image = { source: { uploadId } };
  switch (chosen.op) {
    case "cutout":
      return finish(await call("/v2/remove-background", { method: "POST", json: cutoutBody(chosen, image) }), report);
    case "autotone":
      return finish(await edit(image, { autoTone: true }), report);
    case "straighten":
      return finish(await edit(image, { autoStraighten: { enabled: true } }), report);
    case "edit":
      return finish(await edit(image, chosen.edits), report);
    case "fill":
      return fillBackground(chosen, image, size, report);
    case "composite":
      return finish(await generative("/v3/images/generate-object-composite-async", chosen, image, size), report);
    case "expand": {
      const wide = { width: chosen.width || Math.round((size?.width || 512) * 1.5),
        height: chosen.height || size?.height || 512 };
      return finish(await generative("/v3/images/expand-async", chosen, image, wide), report);
    }
    default:
      throw new Error(`Unknown operation ${chosen.op} — pick one from the list.`);
  }
}

function cutoutBody(chosen, image) {
  const body = { image, mode: chosen.mode, trim: chosen.trim, output: { mediaType: "image/png" } };
  if (chosen.background) body.backgroundColor = { ...hexColour(chosen.background), alpha: 1 };
  const extra = {};
  if (chosen.padding) extra.padding = chosen.padding;
  if (chosen.canvas) extra.canvas = chosen.canvas;
  if (chosen.shadow) extra.shadow = true;
  if (Object.keys(extra).length) body.lampyris = extra;
  return body;
}

function edit(image, edits) {
  return call("/v2/edit", { method: "POST", json: {
    image, edits, outputs: [{ destination: {}, mediaType: "image/jpeg" }] } });
}

function generative(path, chosen, image, size) {
  const body = { prompt: chosen.prompt, image, lampyris: { format: "png", engine: chosen.engine } };
  if (size) body.size = { width: size.width, height: size.height };
  return call(path, { method: "POST", json: body });
}

/** Fill around the subject: its mask from a cutout, uploaded, then filled inverted. */
async function fillBackground(chosen, image, size, report) {
  report("Finding the subject…", 10);
  const mask = await finish(await call("/v2/remove-background", { method: "POST", json: {
    image, mode: "mask", output: { mediaType: "image/png" } } }), () => {});
  const blob = await (await fetch(mask.url)).blob();
  const maskId = await upload(new File([blob], "mask.png", { type: "image/png" }));
  const body = { prompt: chosen.prompt, image, mask: { source: { uploadId: maskId }, invert: true },
    lampyris: { format: "png", engine: chosen.engine } };
  if (size) body.size = { width: size.width, height: size.height };
  return finish(await call("/v3/images/fill-async", { method: "POST", json: body }), report);
}

/** Poll a job's status URL until it ends; {url} of its first output, or an ApiError. */
async function finish(accepted, report) {
  const path = sameOrigin(accepted.statusUrl || accepted._links?.self?.href);
  for (;;) {
    const body = await call(path);
    const state = body.status || body.outputs?.[0]?.status;
    const percent = typeof body.progress === "number" ? body.progress : null;
    if (state === "succeeded") return { url: sameOrigin(outputUrl(body)) };
    if (state === "failed" || state === "cancelled") throw jobError(body, state);
    report(state === "pending" ? "Waiting for a worker…" : "Running…", percent);
    await sleep(POLL_MS);
  }
}

function outputUrl(body) {
  const first = body.result?.outputs?.[0] || body.outputs?.[0] || {};
  return first.destination?.url || first.url || first.image?.url || first._links?.renditions?.[0]?.href;
}

function jobError(body, state) {
  if (state === "cancelled") return new ApiError(0, "cancelled", "", "The job was cancelled — run it again.");
  const error = body.error || body.outputs?.[0]?.errors || {};
  const code = body.error_code || error.code || error.error_code || "";
  const message = body.message || error.message || error.title || "";
  return new ApiError(0, code, message, describe(0, code, message));
}

/** Keep the path and query of a URL the server built, so it is fetched from this origin. */
export function sameOrigin(url) {
  const parsed = new URL(url, location.href);
  return parsed.origin === location.origin ? parsed.pathname + parsed.search : url;
}

function hexColour(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return { red: (n >> 16) & 255, green: (n >> 8) & 255, blue: n & 255 };
}
