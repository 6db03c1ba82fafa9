// Before/after comparison: the result over the input, cut at a position a range input
// controls (arrow keys, drag, click), over a checkerboard so transparency shows.

let counter = 0;

/** A comparison figure for `beforeUrl` and `afterUrl`; `label` names it for screen readers. */
export function compare(beforeUrl, afterUrl, label) {
  const id = `cmp-${++counter}`;
  const figure = el("figure", "compare");
  const stage = el("div", "stage checker");
  const before = el("img", "before");
  before.src = beforeUrl;
  before.alt = `${label}: before`;
  const after = el("img", "after");
  after.src = afterUrl;
  after.alt = `${label}: after`;
  after.dataset.role = "result";
  stage.append(before, after);
  const range = document.createElement("input");
  range.type = "range";
  range.min = "0";
  range.max = "100";
  range.value = "50";
  range.id = id;
  range.className = "position";
  const caption = el("figcaption", "");
  const name = document.createElement("label");
  name.htmlFor = id;
  name.textContent = `Before / after: ${label}`;
  caption.append(name, range);
  figure.append(stage, caption);
  const show = () => stage.style.setProperty("--cut", `${range.value}%`);
  range.addEventListener("input", show);
  show();
  return figure;
}

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}
