// API errors in words a person understands, each with what to do next.
// The server answers {error_code, message} (Photoshop/Firefly shapes) or, from IMS,
// {error, error_description}; a failed job carries {code, message}.

const BY_CODE = {
  "401013": "Your session expired — sign in again.",
  "403000": "This client may not use this service — check the client ID, or ask the operator to allow it.",
  "403003": "The API key was refused — sign in again with a client ID this server knows.",
  invalid_client: "The client ID or secret is wrong — check both and sign in again.",
  rate_limited: "Too many requests — wait a moment, then try again.",
  input_too_large: "The image is too large for this server — use a smaller file or ask the operator to raise the limit.",
  invalid_content_type: "That kind of file is not supported — use a JPEG, PNG, WebP or TIFF image.",
  not_found: "That item no longer exists — refresh the list.",
  not_implemented: "This server does not offer that operation — pick another one.",
};

const BY_STATUS = {
  400: "The request was refused — check the settings and try again.",
  401: "Your session expired — sign in again.",
  403: "This client may not do that — sign in with another client or ask the operator.",
  404: "That item no longer exists — refresh the list.",
  413: BY_CODE.input_too_large,
  415: BY_CODE.invalid_content_type,
  422: "Some settings are not valid — fix them and run again.",
  429: BY_CODE.rate_limited,
  501: BY_CODE.not_implemented,
  503: "The server is starting or overloaded — wait a few seconds and try again.",
};

const DAMAGED = /damaged|truncated|not a readable image|cannot identify|corrupt/i;

/** One sentence for an error `code`/`message` (a wire body or a failed job's error). */
export function describe(status, code, message) {
  const text = message || "";
  if (DAMAGED.test(text) || code === "corrupt_image") {
    return "The image is damaged or truncated — export it again or pick another file.";
  }
  if (status === 429 || code === "rate_limited") return BY_CODE.rate_limited;
  if ((status === 400 || status === 422) && /validation/i.test(code || "")) {
    return `A setting is not valid (${firstLine(text)}) — fix it and run again.`;
  }
  if (code && BY_CODE[code]) return BY_CODE[code];
  if (status && BY_STATUS[status]) return BY_STATUS[status];
  if (status >= 500) return "The server failed on this request — try again; if it keeps failing, check the server log.";
  if (text) return `${capitalise(firstLine(text))} — change the settings or the image and try again.`;
  return "Something went wrong — try again.";
}

/** A failed job's error ({code, message}) in words, keeping the server's reason. */
export function describeJobError(error) {
  if (!error) return "";
  return describe(0, error.code || error.error_code, error.message);
}

function firstLine(text) {
  return String(text).split("\n")[0].replace(/\.$/, "");
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
