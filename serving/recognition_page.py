'''The recognition page the service serves at ``/``: the paper's Fig. 2 on a laptop.

Plain HTML and JavaScript, no build step: choose or drop a photo, see it, and see the
recognised products (catalogue image, SKU, title, tags, score bar) with the model
version. It calls
``POST /v1/recognize`` with the photo as multipart field ``image`` and shows the
service's ``{"error": ...}`` message when the upload is refused.
'''

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sicot: product recognition</title>
<style>
  :root { --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #ff6a00; --bg: #f6f7f9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: var(--ink); background: var(--bg); }
  header { background: #fff; border-bottom: 1px solid var(--line); padding: 14px 32px; display: flex;
           align-items: baseline; gap: 16px; }
  header h1 { font-size: 20px; margin: 0; }
  header span { color: var(--muted); }
  main { display: grid; grid-template-columns: minmax(280px, 400px) 1fr; gap: 24px; padding: 24px 32px;
         max-width: 1200px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px; }
  #drop { display: block; border: 2px dashed #c4c9d4; border-radius: 10px; padding: 22px; text-align: center; cursor: pointer;
          color: var(--muted); transition: background .15s, border-color .15s; }
  #drop.over { background: #fff4ec; border-color: var(--accent); }
  #drop strong { color: var(--ink); }
  #file { display: none; }
  #preview { margin-top: 16px; display: none; text-align: center; }
  #preview img { max-width: 100%; max-height: 320px; border-radius: 8px; border: 1px solid var(--line);
                 image-rendering: auto; min-width: 160px; }
  #preview .name { color: var(--muted); font-size: 13px; margin-top: 6px; word-break: break-all; }
  h2 { font-size: 16px; margin: 0 0 12px; }
  #status { color: var(--muted); min-height: 1.4em; }
  #status.error { color: #b42318; font-weight: 600; }
  ol#results { list-style: none; padding: 0; margin: 0; }
  .thumb { width: 56px; height: 56px; object-fit: contain; border-radius: 6px; border: 1px solid var(--line);
           background: #fff; }
  .result { display: grid; grid-template-columns: 34px 56px 1fr 220px; gap: 12px; align-items: center;
            padding: 12px 0; border-top: 1px solid var(--line); }
  .result:first-child { border-top: none; }
  .result:first-child .sku { font-size: 17px; }
  .rank { font-weight: 700; color: var(--muted); font-size: 18px; text-align: center; }
  .result:first-child .rank { color: var(--accent); }
  .sku { font-weight: 700; }
  .title { margin: 2px 0 4px; }
  .missing { color: #b54708; font-style: italic; }
  .tag { display: inline-block; background: #eef1f6; border-radius: 999px; padding: 1px 9px; margin: 2px 4px 0 0;
         font-size: 12px; color: #344054; }
  .bar { background: #eef1f6; border-radius: 5px; height: 10px; overflow: hidden; }
  .bar > div { background: var(--accent); height: 100%; }
  .score { font-variant-numeric: tabular-nums; font-size: 13px; color: var(--muted); margin-top: 4px;
           text-align: right; }
  footer { color: var(--muted); font-size: 13px; margin-top: 12px; }
  @media (max-width: 760px) { main { grid-template-columns: 1fr; padding: 16px; } }
</style>
</head>
<body>
<header><h1>sicot</h1><span>product recognition from a photo</span></header>
<main>
  <section class="card">
    <h2>Query photo</h2>
    <label id="drop" for="file">
      <strong>Choose a photo</strong> or drop it here<br><small>JPEG, PNG, GIF, BMP, WebP</small>
    </label>
    <input id="file" type="file" accept="image/*">
    <div id="preview"><img id="preview-img" alt="query photo"><div class="name" id="preview-name"></div></div>
  </section>
  <section class="card">
    <h2>Recognised products</h2>
    <div id="status">No photo yet.</div>
    <ol id="results"></ol>
    <footer id="model"></footer>
  </section>
</main>
<script>
const drop = document.getElementById("drop");
const input = document.getElementById("file");
const statusBox = document.getElementById("status");
const results = document.getElementById("results");
const modelLine = document.getElementById("model");

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showPreview(file) {
  const img = document.getElementById("preview-img");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  document.getElementById("preview-name").textContent = file.name + " (" + file.size + " bytes)";
  document.getElementById("preview").style.display = "block";
}

function render(answer, millis) {
  results.replaceChildren();
  answer.results.forEach((r, i) => {
    const li = el("li", "result");
    li.dataset.sku = r.sku;
    li.append(el("div", "rank", String(i + 1)));
    const thumb = el("img", "thumb");
    thumb.alt = "";
    if (!r.missing_from_index) {
      thumb.src = "v1/images/" + encodeURIComponent(r.sku);
      thumb.onerror = () => { thumb.style.visibility = "hidden"; };
    } else {
      thumb.style.visibility = "hidden";
    }
    li.append(thumb);
    const info = el("div");
    info.append(el("div", "sku", r.sku));
    if (r.missing_from_index) {
      info.append(el("div", "title missing", "not in the product index"));
    } else {
      info.append(el("div", "title", r.title || "(no title)"));
      const tags = el("div");
      (r.tags || []).forEach(t => tags.append(el("span", "tag", t)));
      info.append(tags);
    }
    li.append(info);
    const scoreBox = el("div");
    const bar = el("div", "bar");
    const fill = el("div");
    fill.style.width = (100 * r.score).toFixed(1) + "%";
    bar.append(fill);
    const percent = 100 * r.score;
    scoreBox.append(bar, el("div", "score", percent > 0 && percent < 0.1 ? "< 0.1 %" : percent.toFixed(1) + " %"));
    li.append(scoreBox);
    results.append(li);
  });
  statusBox.className = "";
  statusBox.textContent = answer.results.length + " products in " + millis + " ms";
  modelLine.textContent = "model version " + answer.model_version;
}

async function recognise(file) {
  if (!file) return;
  showPreview(file);
  results.replaceChildren();
  modelLine.textContent = "";
  statusBox.className = "";
  statusBox.textContent = "Recognising...";
  const form = new FormData();
  form.append("image", file, file.name);
  const started = performance.now();
  try {
    const response = await fetch("v1/recognize", { method: "POST", body: form });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || ("HTTP " + response.status));
    render(answer, Math.round(performance.now() - started));
  } catch (err) {
    statusBox.className = "error";
    statusBox.textContent = "Not recognised: " + err.message;
  }
}

input.addEventListener("change", () => recognise(input.files[0]));
["dragenter", "dragover"].forEach(t => drop.addEventListener(t, e => {
  e.preventDefault(); drop.classList.add("over");
}));
["dragleave", "drop"].forEach(t => drop.addEventListener(t, e => {
  e.preventDefault(); drop.classList.remove("over");
}));
drop.addEventListener("drop", e => recognise(e.dataTransfer.files[0]));
</script>
</body>
</html>
"""
