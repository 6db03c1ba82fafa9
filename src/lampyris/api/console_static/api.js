// The one way the page talks to the server: the IMS token (kept in sessionStorage, never in
// a URL), the two headers every service route wants, error words, and retries while the
// server cannot be reached (a restart) behind a visible "reconnecting" banner.
import { describe } from "./words.js";

const KEY = "lampyris.console.session";
const RETRY_DELAYS_MS = [500, 1000, 2000, 3000, 5000, 5000, 5000, 5000, 5000, 5000];
const listeners = { expired: [] };

/** An API error: `words` is the sentence to show, `status`/`code`/`message` the wire's. */
export class ApiError extends Error {
  constructor(status, code, message, words) {
    super(words);
    this.status = status;
    this.code = code;
    this.detail = message;
    this.words = words;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** Called with the sentence to show when the token is refused. */
export function onExpired(callback) {
  listeners.expired.push(callback);
}

export function banner(text) {
  const node = document.getElementById("banner");
  node.textContent = text || "";
  node.hidden = !text;
}

/** Exchange the client's id and secret for a token; only the token is kept. */
export async function signIn(clientId, secret) {
  const body = new URLSearchParams({
    grant_type: "client_credentials", client_id: clientId, client_secret: secret,
    scope: "openid,AdobeID",
  });
  const answer = await send("/ims/token/v3", { method: "POST", body }, false);
  const data = await answer.json();
  sessionStorage.setItem(KEY, JSON.stringify({
    clientId, token: data.access_token, expires: Date.now() + 1000 * (data.expires_in || 0),
  }));
}

/** A JSON request to a service route; throws ApiError with words on any failure. */
export async function call(path, { method = "GET", json, body, contentType } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
    init.headers["content-type"] = contentType || "application/octet-stream";
  }
  const answer = await send(path, init, true);
  const text = await answer.text();
  return text ? JSON.parse(text) : {};
}

/** A binary resource behind the service's auth (report thumbnails) as an object URL. */
export async function blobUrl(path) {
  const answer = await send(path, { method: "GET", headers: {} }, true);
  return URL.createObjectURL(await answer.blob());
}

/** Upload one image (a File or Blob); its Firefly upload id. */
export async function upload(file) {
  const type = file.type || "application/octet-stream";
  const data = await call("/v2/storage/image", { method: "POST", body: file, contentType: type });
  return data.images[0].id;
}

async function send(path, init, authed) {
  if (authed) {
    const current = session();
    if (!current) throw expired("Please sign in.");
    init.headers = { ...init.headers, authorization: `Bearer ${current.token}`,
      "x-api-key": current.clientId };
  }
  let answer;
  for (let attempt = 0; ; attempt++) {
    try {
      answer = await fetch(path, { ...init, cache: "no-store" });
    } catch {
      answer = null;
    }
    const restarting = answer === null || answer.status === 502 || answer.status === 503;
    if (!restarting) break;
    if (attempt >= RETRY_DELAYS_MS.length) {
      banner("The server cannot be reached — check that it is running, then reload the page.");
      throw new ApiError(0, "unreachable", "", "The server cannot be reached — check that it is running and try again.");
    }
    banner("Reconnecting to the server — it may be restarting…");
    await sleep(RETRY_DELAYS_MS[attempt]);
  }
  banner("");
  if (answer.ok) return answer;
  const wire = await answer.json().catch(() => ({}));
  const code = wire.error_code || wire.error || wire.code || "";
  const message = wire.message || wire.error_description || wire.title || "";
  let words = describe(answer.status, code, message);
  const retry = answer.headers.get("retry-after");
  if (answer.status === 429 && retry) words = `Too many requests — wait ${retry} s, then try again.`;
  if (authed && answer.status === 401) {
    signOut();
    const error = expired(words);
    listeners.expired.forEach((callback) => callback(error.words));
    throw error;
  }
  throw new ApiError(answer.status, code, message, words);
}

function expired(words) {
  return new ApiError(401, "401013", "", words);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
