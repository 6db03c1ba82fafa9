// The console's shell: sign in and out, the three sections (one shown at a time, chosen by
// the URL's #hash), and the message shown when a session ends.
import { ApiError, onExpired, session, signIn, signOut } from "./api.js";
import { setUpOperate, showOperate } from "./operate.js";
import { setUpReview, showReview } from "./review.js";
import { setUpTry } from "./try.js";

const SECTIONS = ["try", "review", "operate"];
const $ = (id) => document.getElementById(id);

function show() {
  const signedIn = Boolean(session());
  const wanted = location.hash.slice(1);
  const current = SECTIONS.includes(wanted) ? wanted : "try";
  $("signin").hidden = signedIn;
  $("nav").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  for (const name of SECTIONS) $(name).hidden = !signedIn || name !== current;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.tab === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  showOperate(signedIn && current === "operate");
  if (signedIn && current === "review") showReview();
  if (!signedIn) $("client-id").focus();
}

function askToSignIn(words) {
  const note = $("signin-error");
  note.textContent = words;
  note.hidden = false;
  show();
}

async function submitSignIn(event) {
  event.preventDefault();
  const button = event.submitter || $("signin-form").querySelector("button");
  button.disabled = true;
  try {
    await signIn($("client-id").value.trim(), $("client-secret").value);
    $("client-secret").value = "";
    $("signin-error").hidden = true;
    show();
  } catch (error) {
    askToSignIn(error instanceof ApiError ? error.words : "Signing in failed — try again.");
  } finally {
    button.disabled = false;
  }
}

function start() {
  $("signin-form").addEventListener("submit", submitSignIn);
  $("sign-out").addEventListener("click", () => {
    signOut();
    askToSignIn("You signed out.");
  });
  onExpired(askToSignIn);
  window.addEventListener("hashchange", show);
  setUpTry();
  setUpReview();
  setUpOperate();
  show();
}

start();
