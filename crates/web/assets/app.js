// The genre classifier's page. On the server: upload once, then every view (aggregation,
// top-K, toggles, explanations) is drawn from the server's stored analysis. On this
// device: a Web Worker runs the WebAssembly classifier (worker.js) on the file; nothing is
// uploaded, and the server-side views (waveform, mel, explanations) are not shown.
'use strict';

const $ = (id) => document.getElementById(id);
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
  '#9c755f', '#bab0ac', '#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2'];

const app = {
  model: null,      // GET /api/model
  file: null,       // the File last uploaded (kept to re-analyse for the whole-track setting)
  analysis: null,   // POST /api/analyze answer
  prediction: null, // the prediction under the current settings
  cursor: 0,        // playback position, seconds
  requests: 0,      // analyses asked for so far (only the latest answer is shown)
  worker: null,     // the on-device Web Worker, made on first use
  objectUrl: null,  // the local file's URL for the player, on this device
};
window.genreApp = app;

const colour = (i) => COLOURS[i % COLOURS.length];
const percent = (p) => (100 * p).toFixed(1) + ' %';
const seconds = (s) => (Math.round(s * 10) / 10).toString();
// The model goes with every analysis; before the selector is filled, the server's default.
const settings = () => ({
  ...($('model-select').value ? { model: $('model-select').value } : {}),
  aggregate: $('aggregation').value,
  top_k: $('top-k').value,
  whole_track: $('whole-track').checked,
});

const onDevice = () => $('mode').value === 'device';
const deviceSupported = () => typeof WebAssembly === 'object' && typeof Worker === 'function';

function setStatus(text, isError) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', Boolean(isError));
}

function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children || []) node.append(child);
  return node;
}

function svg(tag, attributes) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  return node;
}

async function json(response) {
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

// ---- pages ---------------------------------------------------------------------

function showPage() {
  const page = (location.hash || '#dashboard').slice(1);
  const known = ['dashboard', 'how', 'about'].includes(page) ? page : 'dashboard';
  for (const section of document.querySelectorAll('.page')) section.hidden = section.id !== `page-${known}`;
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.page === known);
}

// ---- model facts -----------------------------------------------------------------

// `name` null: the server's default model. Fills the model selector the first time.
async function loadModel(name) {
  const model = await json(await fetch(name ? `/api/model?${new URLSearchParams({ model: name })}` : '/api/model'));
  app.model = model;
  const select = $('model-select');
  if (select.options.length === 0) {
    for (const served of model.models) select.append(el('option', { value: served, text: served }));
  }
  select.value = model.name;
  // On this device when the server offers the WebAssembly package and the browser can run it.
  const device = $('mode').querySelector('option[value="device"]');
  const available = Boolean(model.on_device) && deviceSupported();
  device.disabled = !available;
  if (!available) $('mode').value = 'server';
  else if (!app.modeChosen) $('mode').value = 'device';
  $('mode-note').textContent = available
    ? 'On this device, the file is decoded and classified in your browser and never uploaded.'
    : model.on_device ? 'This browser cannot run the on-device classifier.' : 'This server offers no on-device classifier.';
  // A model trained on whole tracks reads them by default.
  $('whole-track').checked = Boolean(model.whole_track);
  const facts = {
    model: model.model,
    labels: model.labels.join(', '),
    device: model.device,
    input: `${model.input[0]} x ${model.input[1]}`,
    segments_per_clip: model.segments_per_clip,
    segment_seconds: seconds(model.segment_seconds),
    clip_seconds: seconds(model.segments_per_clip * model.segment_seconds),
    sample_rate: model.sample_rate,
    features: model.features,
  };
  const list = $('model-facts');
  list.replaceChildren();
  for (const [name, value] of [['model', facts.model], ['genres', facts.labels], ['device', facts.device],
    ['input (mels x frames)', facts.input], ['segments per track', `${facts.segments_per_clip} x ${facts.segment_seconds} s`],
    ['sample rate', `${facts.sample_rate} Hz`]]) {
    list.append(el('dt', { text: name }), el('dd', { text: String(value) }));
  }
  for (const span of document.querySelectorAll('.fact')) span.textContent = String(facts[span.dataset.fact] ?? '');
  const slider = $('top-k');
  slider.max = String(model.labels.length);
  slider.value = String(Math.min(3, model.labels.length));
  $('top-k-value').textContent = slider.value;
}

// The genres an explanation may target: those of the model that made the analysis shown.
function fillExplainTargets(labels) {
  const target = $('explain-target');
  target.replaceChildren(el('option', { value: 'predicted', text: "the segment's prediction" }));
  for (const label of labels) target.append(el('option', { value: label, text: label }));
}

// Another model: its facts and genres, then the file (if any) analysed again with it.
async function changeModel() {
  try {
    await loadModel($('model-select').value);
    if (app.file) await analyze(app.file);
  } catch (error) {
    setStatus(`Cannot load the model: ${error.message}`, true);
  }
}

// ---- upload and analysis ---------------------------------------------------------

async function analyze(file) {
  if (onDevice()) return analyzeOnDevice(file);
  // Only the latest request's answer is shown (a model switch or a new file while one runs).
  const request = ++app.requests;
  app.file = file;
  const s = settings();
  setStatus(`Analysing ${file.name}${s.whole_track ? ' (whole track)' : ''}…`);
  const form = new FormData();
  form.append('file', file, file.name);
  const query = new URLSearchParams(s);
  const started = performance.now();
  try {
    const analysis = await json(await fetch(`/api/analyze?${query}`, { method: 'POST', body: form }));
    if (request !== app.requests) return;
    app.analysis = analysis;
    app.prediction = analysis.prediction;
    app.cursor = 0;
    const taken = ((performance.now() - started) / 1000).toFixed(2);
    setStatus(`${file.name}: ${analysis.prediction.segments.length} segments analysed in ${taken} s.`);
    renderAnalysis();
  } catch (error) {
    if (request === app.requests) setStatus(`${file.name}: ${error.message}`, true);
  }
}

// ---- on this device ----------------------------------------------------------------

// Sends one message to the worker; resolves with its answer, reporting progress meanwhile.
function askWorker(message, onProgress) {
  if (!app.worker) app.worker = new Worker('/worker.js', { type: 'module' });
  return new Promise((resolve, reject) => {
    const listen = (event) => {
      const answer = event.data;
      if (answer.id !== message.id) return;
      if (answer.type === 'progress') { onProgress?.(answer); return; }
      app.worker.removeEventListener('message', listen);
      if (answer.type === 'error') reject(new Error(answer.message)); else resolve(answer);
    };
    app.worker.addEventListener('message', listen);
    app.worker.postMessage(message);
  });
}

async function analyzeOnDevice(file) {
  const request = ++app.requests;
  app.file = file;
  const s = settings();
  const progress = $('progress');
  setStatus(`Classifying ${file.name} on this device${s.whole_track ? ' (whole track)' : ''}…`);
  progress.value = 0;
  progress.hidden = false;
  try {
    const answer = await askWorker({
      type: 'classify', id: request, model: s.model || app.model.name, file, name: file.name,
      whole_track: s.whole_track, aggregate: s.aggregate, top_k: Number(s.top_k),
    }, (p) => { if (request === app.requests) { progress.value = p.done; setStatus(`Classifying ${file.name} on this device: ${Math.round(100 * p.done)} % of ${p.segments} segments…`); } });
    if (request !== app.requests) return;
    app.analysis = { id: null, onDevice: true, seconds: answer.seconds };
    app.prediction = answer.prediction;
    app.cursor = 0;
    setStatus(`${file.name}: ${answer.prediction.segments.length} segments classified on this device in ${answer.seconds.toFixed(2)} s; nothing was uploaded.`);
    renderOnDevice(file);
  } catch (error) {
    if (request === app.requests) setStatus(`${file.name}: ${error.message}`, true);
  } finally {
    if (request === app.requests) progress.hidden = true;
  }
}

function renderOnDevice(file) {
  $('result').hidden = false;
  if (app.objectUrl) URL.revokeObjectURL(app.objectUrl);
  app.objectUrl = URL.createObjectURL(file);
  $('player').src = app.objectUrl;
  renderPrediction();
  renderTimeline();
  renderSegments();
  applyToggles();
}

// Settings changed: ask the server to re-aggregate the stored analysis (no upload).
async function refreshPrediction() {
  if (!app.analysis) return;
  if (app.analysis.onDevice) {
    const { aggregate, top_k } = settings();
    try {
      const answer = await askWorker({ type: 'aggregate', id: ++app.requests, aggregate, top_k: Number(top_k) });
      app.prediction = answer.prediction;
      renderPrediction();
    } catch (error) {
      setStatus(error.message, true);
    }
    return;
  }
  const { aggregate, top_k } = settings();
  const query = new URLSearchParams({ aggregate, top_k });
  try {
    app.prediction = await json(await fetch(`/api/analyses/${app.analysis.id}?${query}`));
    renderPrediction();
  } catch (error) {
    // The server keeps only recent analyses: analyse the file again.
    if (app.file) await analyze(app.file); else setStatus(error.message, true);
  }
}

// ---- drawing ---------------------------------------------------------------------

function renderAnalysis() {
  const { id } = app.analysis;
  $('result').hidden = false;
  $('player').src = `/api/analyses/${id}/audio.wav`;
  $('mel').src = `/api/analyses/${id}/mel.png`;
  $('explanation').hidden = true;
  $('explain-status').textContent = '';
  fillExplainTargets(app.prediction.labels);
  const segmentChoice = $('explain-segment');
  segmentChoice.replaceChildren();
  app.prediction.segments.forEach((segment, i) => {
    segmentChoice.append(el('option', { value: String(i), text: `${i}: ${seconds(segment.start_s)}-${seconds(segment.end_s)} s` }));
  });
  renderPrediction();
  renderTimeline();
  renderSegments();
  drawWaveform();
  applyToggles();
}

function renderPrediction() {
  const p = app.prediction;
  const best = p.top_k[0];
  $('prediction').textContent = `${p.prediction}`;
  $('prediction-detail').textContent =
    `${percent(best.probability)} by ${p.aggregate} over ${p.segments.length} segments of ${p.file} (${p.device})`;
  $('aggregate-name').textContent = `(${p.aggregate})`;
  const chart = $('top-k-chart');
  chart.replaceChildren();
  for (const entry of p.top_k) {
    const index = p.labels.indexOf(entry.genre);
    const bar = el('div', { class: 'bar', style: `width:${(100 * entry.probability).toFixed(2)}%;background:${colour(index)}` });
    chart.append(el('div', { class: 'bar-row', 'data-genre': entry.genre, 'data-probability': String(entry.probability) }, [
      el('span', { class: 'name', text: entry.genre }),
      el('div', { class: 'track' }, [bar]),
      el('span', { class: 'value', text: percent(entry.probability) }),
    ]));
  }
}

function renderSegments() {
  const p = app.prediction;
  const head = $('segments').tHead;
  head.replaceChildren(el('tr', {}, [el('th', { text: '#' }), el('th', { text: 'time' }), el('th', { text: 'top genre' }),
    ...p.labels.map((label) => el('th', { text: label }))]));
  const body = $('segments').tBodies[0];
  body.replaceChildren();
  p.segments.forEach((segment, i) => {
    const top = segment.probabilities.indexOf(Math.max(...segment.probabilities));
    const row = el('tr', { 'data-segment': String(i) }, [
      el('td', { text: String(i) }),
      el('td', { text: `${seconds(segment.start_s)}-${seconds(segment.end_s)} s` }),
      el('td', { class: 'genre', text: p.labels[top] }),
      ...segment.probabilities.map((v, c) => el('td', { class: c === top ? 'num top' : 'num', text: percent(v) })),
    ]);
    row.addEventListener('click', () => chooseSegment(i));
    body.append(row);
  });
}

function renderTimeline() {
  const p = app.prediction;
  const n = p.segments.length;
  const width = 1000, height = 120, axis = 18;
  const plot = $('timeline');
  plot.replaceChildren();
  plot.setAttribute('viewBox', `0 0 ${width} ${height + axis}`);
  const w = width / n;
  p.segments.forEach((segment, i) => {
    const group = svg('g', { class: 'segment', 'data-segment': String(i) });
    let y = height;
    segment.probabilities.forEach((v, c) => {
      const h = v * height;
      y -= h;
      const rect = svg('rect', { x: (i * w).toFixed(2), y: y.toFixed(2), width: Math.max(w - 0.6, 0.4).toFixed(2), height: h.toFixed(2), fill: colour(c) });
      const title = svg('title');
      title.textContent = `${seconds(segment.start_s)}-${seconds(segment.end_s)} s: ${p.labels[c]} ${percent(v)}`;
      rect.append(title);
      group.append(rect);
    });
    group.addEventListener('click', () => chooseSegment(i));
    plot.append(group);
  });
  const step = Math.max(1, Math.ceil(n / 12));
  for (let i = 0; i <= n; i += step) {
    const x = i * w;
    const anchor = x > width - 30 ? 'end' : x < 30 ? 'start' : 'middle';
    const label = svg('text', { x: x.toFixed(1), y: height + 14, class: 'tick', 'text-anchor': anchor });
    label.textContent = `${seconds(i * app.analysis.segment_seconds)} s`;
    plot.append(label);
  }
  const legend = $('legend');
  legend.replaceChildren();
  p.labels.forEach((label, c) => legend.append(el('span', { class: 'key' }, [el('i', { style: `background:${colour(c)}` }), label])));
}

function drawWaveform() {
  const canvas = $('waveform');
  const context = canvas.getContext('2d');
  const { min, max } = app.analysis.waveform;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const middle = height / 2;
  const peak = Math.max(1e-6, ...max.map(Math.abs), ...min.map(Math.abs));
  context.fillStyle = '#4e79a7';
  for (let i = 0; i < max.length; i++) {
    const x = (i / max.length) * width;
    const top = middle - (max[i] / peak) * middle;
    const bottom = middle - (min[i] / peak) * middle;
    context.fillRect(x, top, Math.max(width / max.length, 1), Math.max(bottom - top, 1));
  }
  const segments = app.prediction.segments.length;
  context.strokeStyle = 'rgba(0,0,0,0.25)';
  for (let s = 1; s < segments; s++) {
    const x = Math.round((s / segments) * width) + 0.5;
    context.beginPath(); context.moveTo(x, 0); context.lineTo(x, height); context.stroke();
  }
  const duration = app.analysis.duration_s;
  if (app.cursor > 0 && duration > 0) {
    context.strokeStyle = '#e15759';
    const x = (app.cursor / duration) * width;
    context.beginPath(); context.moveTo(x, 0); context.lineTo(x, height); context.stroke();
  }
}

function applyToggles() {
  const local = Boolean(app.analysis && app.analysis.onDevice);
  $('segments-card').hidden = !$('show-segments').checked;
  $('waveform-card').hidden = local || !$('show-waveform').checked;
  $('mel-card').hidden = local || !$('show-mel').checked;
  $('explain-card').hidden = local;
  $('server-only').hidden = !local;
}

// ---- explanations ----------------------------------------------------------------

function chooseSegment(i) {
  $('explain-segment').value = String(i);
  for (const row of $('segments').tBodies[0].rows) row.classList.toggle('chosen', row.dataset.segment === String(i));
  $('explain-card').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

async function explain() {
  if (!app.analysis) return;
  const segment = $('explain-segment').value;
  const method = $('explain-method').value;
  const target = $('explain-target').value;
  const status = $('explain-status');
  const button = $('explain-button');
  status.textContent = `Explaining segment ${segment} with ${method}…`;
  button.disabled = true;
  try {
    const query = new URLSearchParams({ segment, method, target });
    const response = await fetch(`/api/analyses/${app.analysis.id}/explain.png?${query}`);
    if (!response.ok) await json(response);
    const picture = await response.blob();
    const image = $('explanation');
    if (image.src.startsWith('blob:')) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(picture);
    image.hidden = false;
    status.textContent = `${method} for ${response.headers.get('x-explained-genre')}, ` +
      `segment ${segment}: ${Number(response.headers.get('x-explain-seconds')).toFixed(2)} s on the server.`;
  } catch (error) {
    status.textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

// ---- wiring ----------------------------------------------------------------------

function wire() {
  window.addEventListener('hashchange', showPage);
  $('file-input').addEventListener('change', (event) => {
    const [file] = event.target.files;
    if (file) analyze(file);
  });
  const zone = $('drop-zone');
  for (const name of ['dragenter', 'dragover']) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add('over'); });
  }
  for (const name of ['dragleave', 'drop']) zone.addEventListener(name, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    const [file] = event.dataTransfer.files;
    if (file) analyze(file);
  });
  // A file dropped anywhere else must not make the browser navigate away from the page.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  $('aggregation').addEventListener('change', refreshPrediction);
  const showTopK = () => { $('top-k-value').textContent = $('top-k').value; };
  $('top-k').addEventListener('input', showTopK);
  $('top-k').addEventListener('change', () => { showTopK(); refreshPrediction(); });
  $('whole-track').addEventListener('change', () => { if (app.file) analyze(app.file); });
  $('model-select').addEventListener('change', changeModel);
  $('mode').addEventListener('change', () => { app.modeChosen = true; if (app.file) analyze(app.file); });
  for (const id of ['show-segments', 'show-waveform', 'show-mel']) $(id).addEventListener('change', applyToggles);
  $('explain-button').addEventListener('click', explain);
  $('player').addEventListener('timeupdate', () => {
    app.cursor = $('player').currentTime;
    if (app.analysis && !app.analysis.onDevice) drawWaveform();
  });
}

wire();
showPage();
loadModel().then(() => document.body.dataset.ready = 'true').catch((error) => setStatus(`Cannot reach the server: ${error.message}`, true));
