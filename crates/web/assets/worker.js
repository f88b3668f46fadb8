// The page's "on this device" mode: a Web Worker that runs the WebAssembly build of the
// classifier (crates/wasm). Messages in: {type: 'classify', id, model, file, name,
// whole_track, aggregate, top_k} and {type: 'aggregate', id, aggregate, top_k}; out:
// {type: 'progress', id, done, segments}, {type: 'prediction', id, prediction, seconds},
// {type: 'error', id, message}. The audio never leaves the browser; only the model file
// is fetched (once per model).
import init, { OnDeviceClassifier } from '/wasm/genre_wasm.js';

const ready = init('/wasm/genre_wasm_bg.wasm');
const models = new Map();   // model name -> OnDeviceClassifier
let current = null;         // { classifier, analysis } of the last file, for re-aggregation

async function classifier(name) {
  await ready;
  if (!models.has(name)) {
    const response = await fetch(`/api/models/${encodeURIComponent(name)}/file`);
    if (!response.ok) throw new Error(`model ${name}: ${response.status} ${await response.text()}`);
    models.set(name, new OnDeviceClassifier(new Uint8Array(await response.arrayBuffer())));
  }
  return models.get(name);
}

async function classify(message) {
  const started = performance.now();
  const model = await classifier(message.model);
  const bytes = new Uint8Array(await message.file.arrayBuffer());
  const analysis = model.analyse(bytes, message.name, message.whole_track);
  const segments = analysis.segments;
  let done = 0;
  while (done < 1) {
    done = model.step(analysis);
    postMessage({ type: 'progress', id: message.id, done, segments });
  }
  current = { model, analysis };
  const prediction = JSON.parse(model.prediction(analysis, message.aggregate, message.top_k));
  postMessage({ type: 'prediction', id: message.id, prediction, seconds: (performance.now() - started) / 1000 });
}

onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === 'classify') await classify(message);
    if (message.type === 'aggregate' && current) {
      const prediction = JSON.parse(current.model.prediction(current.analysis, message.aggregate, message.top_k));
      postMessage({ type: 'prediction', id: message.id, prediction, seconds: 0 });
    }
  } catch (error) {
    postMessage({ type: 'error', id: message.id, message: error.message || String(error) });
  }
};
