// Loam's web console: six pages over the same REST API scripts use.
// Every string from data or users goes into the page as text (textContent,
// attribute values through setAttribute): never as HTML.
import uPlot from './uPlot.esm.js';

const SCOPE = 'projects/local/locations/local';
const V = `/v1/${SCOPE}`;
const TERMINAL = ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'];
const ADAPTER_SIZES = [1, 2, 4, 8, 16, 32];
const ADAPTER_ENUM = { 1: 'ADAPTER_SIZE_ONE', 2: 'ADAPTER_SIZE_TWO', 4: 'ADAPTER_SIZE_FOUR', 8: 'ADAPTER_SIZE_EIGHT', 16: 'ADAPTER_SIZE_SIXTEEN', 32: 'ADAPTER_SIZE_THIRTY_TWO' };

let apiKey = sessionStorage.getItem('loam-api-key') || '';
let keyRequired = false;
let page = 0;  // bumped on every navigation: pollers of an old page stop

// ---- DOM ------------------------------------------------------------------

// h('tag', {attr: value, onclick: fn}, children...): strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}
function add(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function clear(el, ...children) { el.replaceChildren(); return add(el, children); }
const main = () => document.getElementById('main');
let uid = 0;
// A labelled control: label text, then the control (given an id).
function field(text, control) {
  if (!control.id) control.id = `f${++uid}`;
  return h('label', { for: control.id }, text, control);
}
function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
}
function table(head, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {}, caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}
function toast(msg, kind = 'error') {
  const box = document.getElementById('toast');
  const d = h('div', { class: kind }, msg);
  box.append(d);
  setTimeout(() => d.remove(), 8000);
}
const last = (name) => String(name || '').split('/').pop();
function bytes(n) {
  n = Number(n);
  if (!Number.isFinite(n) || n <= 0) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${u[i]}`;
}
function num(x, d = 4) { return x === undefined || x === null || Number.isNaN(Number(x)) ? '—' : Number(Number(x).toPrecision(d)).toString(); }
function params(n) { n = Number(n); return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(0)}M` : n ? String(n) : '—'; }
function busy(button, fn) {
  return async (ev) => {
    ev?.preventDefault?.();
    button.disabled = true;
    try { await fn(); } catch (e) { if (!(e instanceof KeyNeeded)) toast(e.message); } finally { button.disabled = false; }
  };
}

// ---- API ------------------------------------------------------------------

class ApiError extends Error {}
class KeyNeeded extends Error {}
function authHeaders() { return apiKey ? { Authorization: `Bearer ${apiKey}` } : {}; }
async function api(method, path, body) {
  const headers = authHeaders();
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const r = await fetch(path, { method, headers, body: payload });
  if (r.status === 401) { showKeyPrompt('The server did not accept this API key. Enter it again.'); throw new KeyNeeded('API key needed'); }
  const text = await r.text();
  let j = {};
  try { j = text ? JSON.parse(text) : {}; } catch { j = { text }; }
  if (!r.ok) throw new ApiError(j.error?.message || `${method} ${path}: HTTP ${r.status}`);
  return j;
}
const get = (p) => api('GET', p);
const post = (p, b) => api('POST', p, b === undefined ? {} : b);

async function listModels(filter = '') {
  const q = new URLSearchParams({ pageSize: '1000' });
  if (filter) q.set('filter', filter);
  return (await get(`${V}/models?${q}`)).models || [];
}
const registered = (models) => models.filter((m) => m.metadata?.kind !== 'garden');
async function listFiles() { return (await get('/v1/files')).data || []; }
async function listEndpoints() { return (await get(`${V}/endpoints`)).endpoints || []; }
// Resolves an uploaded file to the path tuning jobs name (and checks it).
async function filePath(id) {
  const r = await post(`${V}/datasets:inspect`, { datasetUri: id, sampleCount: 0 });
  if (!r.ok) throw new ApiError(`dataset ${id} has ${r.errors + (r.templateErrors || 0)} errors: open it on the Datasets page`);
  return r.path;
}

// ---- API key --------------------------------------------------------------

function showKeyPrompt(message) {
  page++;
  const input = h('input', { type: 'password', autocomplete: 'off', required: true });
  const form = h('form', { class: 'panel', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'API key needed'),
    h('p', {}, message || 'This server was started with --api-key. Enter the key to use the console; it is kept for this browser tab only and sent as "Authorization: Bearer KEY", as the API expects.'),
    h('div', { class: 'row' }, field('API key', input), h('button', { type: 'submit' }, 'Continue')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    apiKey = input.value.trim();
    sessionStorage.setItem('loam-api-key', apiKey);
    try { await get(`${V}/models?pageSize=1`); route(); } catch (e) { if (!(e instanceof KeyNeeded)) toast(e.message); }
  });
  clear(main(), form);
  input.focus();
}

// ---- charts ---------------------------------------------------------------

// A line chart that keeps its uPlot and takes new data in place.
function lineChart(el, title, labels, colors) {
  let plot = null;
  return (x, ...ys) => {
    const data = [x, ...ys];
    if (plot) { plot.setData(data); return; }
    clear(el);
    plot = new uPlot({
      title, width: Math.max(280, el.clientWidth - 12), height: 200, scales: { x: { time: false } },
      series: [{ label: 'step' }, ...labels.map((l, i) => ({ label: l, stroke: colors[i], width: 2, spanGaps: true, points: { show: true, size: 4 } }))],
      axes: [{ label: 'step' }, {}],
    }, data, el);
  };
}

// ---- pages ----------------------------------------------------------------

const pages = {
  models: pageModels, model: pageModel, garden: pageGarden, datasets: pageDatasets, dataset: pageDataset, jobs: pageJobs,
  newjob: pageNewJob, job: pageJob, evaluations: pageEvaluations, endpoints: pageEndpoints, playground: pagePlayground,
};

function parseHash() {
  const [path, query] = (location.hash.replace(/^#\/?/, '') || 'models').split('?');
  const parts = path.split('/').map(decodeURIComponent);
  const q = new URLSearchParams(query || '');
  if (parts[0] === 'models' && parts[1]) return ['model', parts[1], q];
  if (parts[0] === 'garden' && parts[1]) return ['garden', parts.slice(1).join('/'), q];
  if (parts[0] === 'datasets' && parts[1]) return ['dataset', parts[1], q];
  if (parts[0] === 'jobs' && parts[1] === 'new') return ['newjob', '', q];
  if (parts[0] === 'jobs' && parts[1]) return ['job', parts[1], q];
  return [pages[parts[0]] ? parts[0] : 'models', '', q];
}

async function route() {
  const token = ++page;
  const [name, id, q] = parseHash();
  const top = { model: 'models', garden: 'models', dataset: 'datasets', newjob: 'jobs', job: 'jobs' }[name] || name;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${top}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const el = main();
  clear(document.getElementById('toast'));  // notes belong to the page they were about
  clear(el, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await pages[name](el, id, q, () => token === page);
  } catch (e) {
    if (e instanceof KeyNeeded) return;
    if (token === page) clear(el, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, e.message));
  }
}

// -- Model garden

function modelRow(m) {
  const g = m.modelGarden;
  const md = m.metadata || {};
  const tunable = g ? g.tunable : md.kind !== 'tuned' && (md.format === 'hf' || md.format === 'gguf');
  return {
    id: last(m.name), name: m.displayName || last(m.name), garden: Boolean(g),
    kind: g ? 'model garden' : md.kind, family: g?.family || m.labels?.family || md.architecture || '—',
    size: g ? params(g.parameters) : bytes(md.sizeBytes), context: g?.contextLength ?? '—', license: g?.license || m.labels?.license || '—',
    tunable: tunable ? 'yes' : 'no', tune: bytes((g || md).memoryBytes?.tuneRank8), serve: bytes((g || md).memoryBytes?.serve),
    hf: g?.huggingFaceId,
  };
}

async function pageModels(el, _id, q) {
  const filter = q.get('filter') || '';
  const view = q.get('view') || 'cards';
  const search = h('input', { type: 'search', value: filter, placeholder: 'labels.family=llama AND labels.size=1b', size: 40 });
  const form = h('form', { class: 'row', role: 'search' },
    field('Filter (managed-service grammar: labels.KEY=VALUE, displayName="…", AND/OR)', search),
    h('button', { type: 'submit' }, 'Search'),
    h('a', { href: `#/models?view=${view === 'cards' ? 'table' : 'cards'}&filter=${encodeURIComponent(filter)}` }, view === 'cards' ? 'Show as table' : 'Show as cards'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = `#/models?view=${view}&filter=${encodeURIComponent(search.value)}`; });
  let models;
  let problem = null;
  try { models = await listModels(filter); } catch (e) { if (e instanceof KeyNeeded) throw e; problem = e.message; models = []; }
  const rows = models.map(modelRow);
  const link = (r) => h('a', { href: r.garden ? `#/garden/${encodeURIComponent(r.hf)}` : `#/models/${encodeURIComponent(r.id)}` }, r.name);
  const body = view === 'table'
    ? table(['Model', 'Kind', 'Family', 'Size', 'Context', 'License', 'Tunable', 'Memory to tune (r=8)', 'Memory to serve'],
      rows.map((r) => [link(r), r.kind, r.family, r.size, String(r.context), r.license, r.tunable, r.tune, r.serve]))
    : h('div', { class: 'cards' }, rows.map((r) => h('article', { class: 'card' },
      h('h3', {}, link(r)), h('div', { class: 'muted' }, `${r.kind} · ${r.family} · ${r.size}`),
      h('div', {}, `context ${r.context} · license ${r.license}`),
      h('div', {}, `tunable: ${r.tunable} · tune ${r.tune} · serve ${r.serve}`),
      r.garden ? h('div', { class: 'muted' }, 'get it: ', h('code', {}, `loam models pull ${r.hf}`))
        : h('div', { class: 'row' }, r.tunable === 'yes' ? h('a', { href: `#/jobs/new?base=${encodeURIComponent(r.id)}` }, 'Tune this model') : null,
          h('a', { href: `#/playground?model=${encodeURIComponent(r.id)}` }, 'Try it')))));
  clear(el, h('h1', {}, 'Model garden'), form, problem ? h('p', { class: 'error' }, problem) : null,
    h('p', { class: 'muted' }, `${rows.length} models (registered first, then the catalog)`), body);
}

async function pageModel(el, id) {
  const m = await get(`${V}/models/${encodeURIComponent(id)}`);
  const md = m.metadata || {};
  const [endpoints, evals] = await Promise.all([listEndpoints(), get(`${V}/models/${encodeURIComponent(id)}/evaluations`)]);
  const mine = endpoints.filter((e) => (e.deployedModels || []).some((d) => last(String(d.model).split('@')[0]) === id));
  const lineage = h('div', { class: 'lineage', 'aria-label': 'Lineage' });
  const node = (label, content) => h('span', { class: 'node' }, h('span', { class: 'muted' }, `${label}: `), content);
  const arrow = () => h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→');
  if (md.kind === 'tuned') {
    const base = last(String(md.lineage?.baseModel || '').split('@')[0]);
    const jobId = last(md.lineage?.tuningJob);
    let job = null;
    try { job = await get(`${V}/tuningJobs/${jobId}`); } catch (e) { if (e instanceof KeyNeeded) throw e; }
    const spec = job?.supervisedTuningSpec || job?.preferenceOptimizationSpec || {};
    let baseName = base;
    try { baseName = (await get(`${V}/models/${encodeURIComponent(base)}`)).displayName || base; } catch (e) { if (e instanceof KeyNeeded) throw e; }
    add(lineage, node('base', h('a', { href: `#/models/${encodeURIComponent(base)}` }, baseName)), arrow(),
      node('data', [spec.trainingDatasetUri ? last(spec.trainingDatasetUri) : '—', spec.validationDatasetUri ? ` + validation ${last(spec.validationDatasetUri)}` : '']), arrow(),
      node('job', h('a', { href: `#/jobs/${jobId}` }, jobId)), arrow(), node('tuned model', m.displayName), arrow(),
      node('endpoints', mine.length ? mine.map((e, i) => [i ? ', ' : '', h('a', { href: '#/endpoints' }, e.displayName)]) : 'none'));
  } else {
    add(lineage, node('model', m.displayName), arrow(), node('endpoints', mine.length ? mine.map((e, i) => [i ? ', ' : '', e.displayName]) : 'none'));
  }
  const files = (md.files || []).map((f) => [f.path, bytes(f.sizeBytes), h('code', {}, String(f.sha256 || '').slice(0, 16))]);
  const mem = md.memoryBytes || {};
  clear(el, h('h1', {}, m.displayName || id),
    h('p', { class: 'muted' }, `${md.kind} · ${md.format} · ${md.architecture || ''} · ${bytes(md.sizeBytes)} · version ${m.versionId} · created ${m.createTime}`),
    m.description ? h('p', {}, m.description) : null,
    h('div', { class: 'stats', id: 'model-memory', 'aria-label': 'Memory estimate' },
      [['weights', bytes(mem.weights)], ['to tune (LoRA rank 8)', md.kind === 'tuned' ? 'n/a (tuned)' : bytes(mem.tuneRank8)], ['to serve', bytes(mem.serve)]]
        .map(([k, v]) => h('div', {}, h('b', {}, v), k))),
    h('div', { class: 'row' },
      md.kind !== 'tuned' ? h('a', { href: `#/jobs/new?base=${encodeURIComponent(id)}`, class: 'button' }, 'Tune this model') : null,
      h('a', { href: `#/endpoints?model=${encodeURIComponent(id)}` }, 'Deploy'),
      h('a', { href: `#/playground?model=${encodeURIComponent(id)}` }, 'Try in the playground'),
      h('a', { href: `#/evaluations?model=${encodeURIComponent(id)}` }, 'Evaluate')),
    h('h2', {}, 'Lineage'), lineage,
    h('h2', {}, 'Labels'), h('p', {}, Object.entries(m.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'),
    h('h2', {}, 'Files'), table(['Path', 'Size', 'sha256'], files),
    h('h2', {}, 'Chat template'), md.chatTemplate ? h('pre', {}, md.chatTemplate) : h('p', { class: 'muted' }, 'none'),
    h('h2', {}, 'Evaluations'),
    table(['Evaluation', 'Metrics', 'Created'], (evals.modelEvaluations || []).map((e) => [e.displayName,
      Object.entries(e.metrics || {}).map(([k, v]) => `${k} ${num(typeof v === 'object' ? v.value : v)}`).join(', '), e.createTime])));
}

// A catalog entry not yet downloaded: what the catalog knows, and how to get it.
async function pageGarden(el, hf) {
  const all = await listModels();
  const m = all.find((x) => x.modelGarden && x.modelGarden.huggingFaceId.toLowerCase() === hf.toLowerCase());
  if (!m) { clear(el, h('h1', {}, 'Not in the catalog'), h('p', { class: 'error' }, `The model garden has no entry ${hf}.`), h('a', { href: '#/models' }, 'Back to the garden')); return; }
  const g = m.modelGarden;
  // `loam models pull` records where it came from as hf://ID@COMMIT.
  const mine = registered(all).find((x) => String(x.metadata?.sourceUri || '').toLowerCase().startsWith(`hf://${g.huggingFaceId.toLowerCase()}@`));
  const dl = (rows) => h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const mem = g.memoryBytes || {};
  const pull = `loam models pull ${g.huggingFaceId}`;
  clear(el, h('h1', {}, m.displayName),
    h('p', { class: 'muted' }, `model garden catalog · ${g.family} · ${params(g.parameters)} parameters · not downloaded`),
    m.description ? h('p', {}, m.description) : null,
    h('div', { class: 'stats', id: 'model-memory', 'aria-label': 'Memory estimate' },
      [['weights', bytes(mem.weights)], ['to tune (LoRA rank 8)', g.tunable ? bytes(mem.tuneRank8) : 'not tunable'], ['to serve', bytes(mem.serve)]]
        .map(([k, v]) => h('div', {}, h('b', {}, v), k))),
    h('h2', {}, 'What the catalog knows'),
    dl([['Hugging Face id', g.huggingFaceId], ['Parameters', `${params(g.parameters)} (${g.parameters})`], ['Context', `${g.contextLength} tokens`],
      ['License', g.license], ['Architecture', g.architecture], ['Tunable', g.tunable ? 'yes (LoRA)' : 'no'],
      ['Recommended LoRA', g.recommendedLora ? `rank ${g.recommendedLora.rank}, alpha ${g.recommendedLora.alpha}, learning rate ${g.recommendedLora.learningRate}` : '—'],
      ['Gated', g.gated ? 'yes: accept the terms on the hub and set HF_TOKEN' : 'no'],
      ['Model card', g.modelCard || '—']]),
    h('h2', {}, 'Labels'), h('p', {}, Object.entries(m.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'),
    h('h2', {}, 'Get it'),
    h('p', {}, 'Download and register it on the server\'s machine:'), h('pre', { id: 'pull-command' }, pull),
    mine ? h('p', { class: 'ok' }, 'Registered as ', h('a', { href: `#/models/${encodeURIComponent(last(mine.name))}` }, mine.displayName || last(mine.name)), '.')
      : h('p', { class: 'muted', id: 'tune-after-pull' }, g.tunable
        ? '"Tune this model" becomes available on its own page once it is registered (after the pull above, it is listed first in the garden).'
        : 'Loam cannot LoRA-tune this model; once registered it can be served and evaluated.'),
    h('div', { class: 'row' }, mine && g.tunable ? h('a', { href: `#/jobs/new?base=${encodeURIComponent(last(mine.name))}`, class: 'button' }, 'Tune this model') : null,
      h('a', { href: '#/models' }, 'Back to the garden')));
}

// -- Datasets

async function upload(file) {
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append('file', file, file.name);
  return api('POST', '/v1/files', form);
}

async function pageDatasets(el) {
  const files = await listFiles();
  const input = h('input', { type: 'file', accept: '.jsonl,.json,.csv,.tsv' });
  const drop = h('div', { class: 'drop', tabindex: '0' }, h('p', {}, 'Drop a JSONL dataset here, or choose a file.'), field('Dataset file', input));
  const go = async (file) => {
    try {
      const f = await upload(file);
      toast(`uploaded ${f.filename} as ${f.id}`, 'info');
      location.hash = `#/datasets/${encodeURIComponent(f.id)}`;
    } catch (e) { if (!(e instanceof KeyNeeded)) toast(e.message); }
  };
  input.addEventListener('change', () => input.files[0] && go(input.files[0]));
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => { ev.preventDefault(); drop.classList.remove('over'); if (ev.dataTransfer.files[0]) go(ev.dataTransfer.files[0]); });
  clear(el, h('h1', {}, 'Datasets'), drop, h('h2', {}, 'Uploaded files'),
    table(['File', 'Name', 'Size', 'Uploaded'], files.map((f) => [h('a', { href: `#/datasets/${encodeURIComponent(f.id)}` }, f.id), f.filename, bytes(f.bytes),
      new Date(f.created_at * 1000).toISOString()])));
}

async function pageDataset(el, id, q) {
  const [file, models] = await Promise.all([get(`/v1/files/${encodeURIComponent(id)}`), listModels()]);
  const usable = registered(models).filter((m) => m.metadata?.kind !== 'tuned');
  const model = select([['', '(no model: validation only)'], ...usable.map((m) => [last(m.name), m.displayName || last(m.name)])], q.get('model') || (usable[0] ? last(usable[0].name) : ''));
  const maxSeq = h('input', { type: 'number', min: '0', value: q.get('maxSeqLength') || '512' });
  const samples = h('input', { type: 'number', min: '0', max: '50', value: '3' });
  const run = h('button', { type: 'submit' }, 'Inspect');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'panel' }, h('div', { class: 'row' }, field('Model (tokenizer and chat template)', model),
    field('Max sequence length', maxSeq), field('Rendered samples', samples), run));
  const inspect = busy(run, async () => {
    const r = await post(`${V}/datasets:inspect`, { datasetUri: id, model: model.value || undefined, maxSeqLength: Number(maxSeq.value), sampleCount: Number(samples.value) });
    const t = r.tokens;
    clear(out,
      h('h2', {}, 'Validation'),
      h('p', { class: r.ok ? 'ok' : 'error', id: 'validation-summary' }, r.ok ? 'Valid: ' : 'Invalid: ',
        `${r.examples} examples of ${r.records} records, format ${r.format || '?'}, task ${r.task || '?'}; ${r.errors} errors, ${r.warnings} warnings, ${r.duplicates} duplicates` +
        (r.templateErrors ? `; ${r.templateErrors} rejected by the chat template` : '')),
      r.issues?.length ? table(['Severity', 'File', 'Line', 'Field', 'Message'], r.issues.map((i) => [i.severity, i.file, String(i.line), i.field, i.message])) : h('p', {}, 'No problems found.'),
      t ? [h('h2', {}, 'Tokens (after the chat template)'), h('div', { class: 'stats' },
        [['min', t.tokens_per_example.min], ['median', t.tokens_per_example.median], ['p95', t.tokens_per_example.p95], ['max', t.tokens_per_example.max],
          [`over ${t.max_seq_length || '—'} tokens (truncated)`, t.examples_over_max_seq_length ?? 0],
          ['training tokens', t.total_training_tokens], ['with loss', t.scored_tokens]].map(([k, v]) => h('div', {}, h('b', {}, String(v ?? '—')), k)))] : null,
      r.samples?.length ? [h('h2', {}, 'Rendered training examples'), r.samples.map((s) => [h('div', { class: 'muted' }, `line ${s.line}`), h('pre', {}, s.rendered ?? s.renderError ?? '')])] : null);
  });
  form.addEventListener('submit', inspect);
  const frac = h('input', { type: 'number', min: '0.01', max: '0.99', step: '0.01', value: '0.2' });
  const seed = h('input', { type: 'number', min: '0', value: '0' });
  const splitBtn = h('button', { type: 'submit' }, 'Split');
  const splitOut = h('div', { 'aria-live': 'polite' });
  const splitForm = h('form', { class: 'panel' }, h('h2', {}, 'Train/validation split'),
    h('div', { class: 'row' }, field('Validation fraction', frac), field('Seed', seed), splitBtn), splitOut);
  splitForm.addEventListener('submit', busy(splitBtn, async () => {
    const r = await post(`${V}/datasets:split`, { datasetUri: id, validationFraction: Number(frac.value), seed: Number(seed.value) });
    clear(splitOut, h('p', {}, `train: `, h('a', { href: `#/datasets/${r.train.id}` }, r.train.id), ` (${r.train.examples} examples) · validation: `,
      h('a', { href: `#/datasets/${r.validation.id}` }, r.validation.id), ` (${r.validation.examples} examples) · duplicates removed: ${r.duplicatesRemoved}`),
    h('a', { href: `#/jobs/new?train=${r.train.id}&validation=${r.validation.id}` }, 'Tune with this split'));
  }));
  clear(el, h('h1', {}, file.filename), h('p', { class: 'muted' }, `${file.id} · ${bytes(file.bytes)}`),
    h('a', { href: `#/jobs/new?train=${encodeURIComponent(id)}` }, 'Tune with this dataset'), form, out, splitForm);
  await inspect();
}

// -- Tuning jobs

async function pageJobs(el, _id, _q, alive) {
  const list = h('div');
  clear(el, h('h1', {}, 'Tuning jobs'), h('p', {}, h('a', { href: '#/jobs/new' }, 'New tuning job')), list);
  const names = new Map(registered(await listModels()).map((m) => [last(m.name), m.displayName || last(m.name)]));
  while (alive()) {
    const jobs = (await get(`${V}/tuningJobs?pageSize=100`)).tuningJobs || [];
    if (!alive()) return;
    clear(list, table(['Job', 'Tuned model', 'Base model', 'State', 'Created'], jobs.map((j) => [
      h('a', { href: `#/jobs/${last(j.name)}` }, last(j.name)), j.tunedModelDisplayName || '—', names.get(last(j.baseModel)) || last(j.baseModel),
      h('span', { class: `state ${j.state}` }, j.state.replace('JOB_STATE_', '')), j.createTime])));
    await new Promise((r) => setTimeout(r, 3000));
  }
}

async function pageNewJob(el, _id, q) {
  const [models, files] = await Promise.all([listModels(), listFiles()]);
  const bases = registered(models).filter((m) => m.metadata?.kind !== 'tuned');
  const fileOpts = files.map((f) => [f.id, `${f.filename} (${f.id})`]);
  const base = select(bases.map((m) => [last(m.name), m.displayName || last(m.name)]), q.get('base') || (bases[0] ? last(bases[0].name) : ''), { required: true });
  const train = select([['', '(choose a dataset)'], ...fileOpts], q.get('train') || '', { required: true });
  const val = select([['', '(none)'], ...fileOpts], q.get('validation') || '');
  const name = h('input', { type: 'text', placeholder: 'my-tuned-model' });
  const epochs = h('input', { type: 'number', min: '1', value: '3' });
  const adapter = select(ADAPTER_SIZES.map((n) => [String(n), String(n)]), '8');
  const lrm = h('input', { type: 'number', min: '0', step: 'any', value: '1' });
  const lr = h('input', { type: 'number', min: '0', step: 'any', placeholder: 'from the multiplier' });
  const batch = h('input', { type: 'number', min: '1', placeholder: 'default' });
  const maxSeq = h('input', { type: 'number', min: '1', placeholder: '1024' });
  const alpha = h('input', { type: 'number', min: '0', step: 'any', placeholder: '2 × rank' });
  const dropout = h('input', { type: 'number', min: '0', max: '1', step: 'any', placeholder: 'default' });
  const accum = h('input', { type: 'number', min: '1', placeholder: '1' });
  const estimateBtn = h('button', { type: 'button', class: 'secondary' }, 'Estimate memory and time');
  const submit = h('button', { type: 'submit' }, 'Start tuning');
  const estimate = h('div', { 'aria-live': 'polite' });
  const open = [maxSeq, alpha, dropout, accum].some((i) => i.value);
  // The managed service's TuningJob body; open-model knobs make it a PipelineJob.
  async function body() {
    if (!train.value) throw new ApiError('Choose a training dataset');
    const trainPath = await filePath(train.value);
    const valPath = val.value ? await filePath(val.value) : '';
    if (maxSeq.value || alpha.value || dropout.value || accum.value) {
      const pv = { model_name: base.value, train_data_uri: trainPath, epochs: Number(epochs.value), lora_rank: Number(adapter.value) };
      if (valPath) pv.eval_data_uri = valPath;
      if (lr.value) pv.learning_rate = Number(lr.value);
      if (batch.value) pv.per_device_train_batch_size = Number(batch.value);
      if (maxSeq.value) pv.max_seq_length = Number(maxSeq.value);
      if (alpha.value) pv.lora_alpha = Number(alpha.value);
      if (dropout.value) pv.lora_dropout = Number(dropout.value);
      if (accum.value) pv.gradient_accumulation_steps = Number(accum.value);
      return { pipeline: true, body: { displayName: name.value || undefined, runtimeConfig: { parameterValues: pv } } };
    }
    const hp = { epochCount: Number(epochs.value), adapterSize: ADAPTER_ENUM[adapter.value], learningRateMultiplier: Number(lrm.value) };
    if (lr.value) hp.learningRate = Number(lr.value);
    if (batch.value) hp.batchSize = Number(batch.value);
    const spec = { trainingDatasetUri: trainPath, hyperParameters: hp };
    if (valPath) spec.validationDatasetUri = valPath;
    return { pipeline: false, body: { baseModel: base.value, tunedModelDisplayName: name.value || undefined, supervisedTuningSpec: spec } };
  }
  estimateBtn.addEventListener('click', busy(estimateBtn, async () => {
    const p = await post(`${V}/tuningJobs:plan`, (await body()).body);
    clear(estimate, h('div', { class: 'stats', id: 'plan' },
      [['examples', p.trainExamples], ['validation', p.validationExamples], ['steps', p.totalSteps], ['epochs', p.epochs],
        ['truncated', p.truncatedExamples], ['peak memory', p.peakMemory], ['available', bytes(p.memoryAvailableBytes)],
        ['estimated time', `${num(p.estimatedSeconds, 3)} s`]].map(([k, v]) => h('div', {}, h('b', {}, String(v)), k))),
    h('p', { class: p.fits ? 'ok' : 'error' }, p.fits ? 'Fits in memory.' : p.memoryProblem));
  }));
  const form = h('form', { class: 'panel' },
    h('div', { class: 'row' }, field('Base model', base), field('Tuned model name', name)),
    h('div', { class: 'row' }, field('Training dataset', train), field('Validation dataset', val)),
    h('div', { class: 'row' }, field('Epochs', epochs), field('Adapter size', adapter), field('Learning-rate multiplier', lrm)),
    h('details', { open }, h('summary', {}, 'Advanced (open-model settings)'),
      h('div', { class: 'row' }, field('Learning rate', lr), field('Batch size', batch), field('Max sequence length', maxSeq)),
      h('div', { class: 'row' }, field('LoRA alpha', alpha), field('LoRA dropout', dropout), field('Gradient accumulation steps', accum))),
    h('div', { class: 'row' }, estimateBtn, submit), estimate);
  form.addEventListener('submit', busy(submit, async () => {
    const b = await body();
    const r = await post(b.pipeline ? `${V}/pipelineJobs` : `${V}/tuningJobs`, b.body);
    location.hash = `#/jobs/${last(r.name)}`;
  }));
  clear(el, h('h1', {}, 'New tuning job'), form);
}

async function pageJob(el, id, _q, alive) {
  const head = h('div');
  const stats = h('div', { class: 'stats', 'aria-live': 'polite' });
  const lossEl = h('div', { class: 'chart', id: 'loss-chart' });
  const accEl = h('div', { class: 'chart', id: 'accuracy-chart' });
  const lrEl = h('div', { class: 'chart', id: 'lr-chart' });
  const checkpoints = h('div');
  const events = h('ol', { class: 'events' });
  const actions = h('div', { class: 'row' });
  clear(el, head, actions, stats, h('div', { class: 'grid2' }, lossEl, accEl), lrEl,
    h('h2', {}, 'Checkpoints'), h('div', { class: 'scroll', tabindex: '0', 'aria-label': 'Checkpoints' }, checkpoints), h('h2', {}, 'Events (latest 200)'), h('div', { class: 'scroll', tabindex: '0', 'aria-label': 'Events' }, events));
  const loss = lineChart(lossEl, 'Loss', ['train loss', 'validation loss'], ['#6b4f2a', '#1e6b35']);
  const acc = lineChart(accEl, 'Token accuracy', ['train accuracy', 'validation accuracy'], ['#6b4f2a', '#1e6b35']);
  const lrc = lineChart(lrEl, 'Learning rate', ['learning rate'], ['#3b5ba5']);
  let afterId = 0;
  const act = (verb, enabled) => {
    const b = h('button', { type: 'button', class: 'secondary', disabled: !enabled }, verb[0].toUpperCase() + verb.slice(1));
    b.addEventListener('click', busy(b, async () => { await post(`${V}/tuningJobs/${id}:${verb}`); }));
    return b;
  };
  while (alive()) {
    const [job, metrics, ev] = await Promise.all([get(`${V}/tuningJobs/${id}`), get(`${V}/tuningJobs/${id}/metrics`), get(`${V}/tuningJobs/${id}/events?afterId=${afterId}`)]);
    if (!alive()) return;
    const spec = job.supervisedTuningSpec || job.preferenceOptimizationSpec || {};
    const hp = spec.hyperParameters || {};
    const tuned = job.tunedModel?.model;
    clear(head, h('h1', {}, job.tunedModelDisplayName || `Job ${id}`),
      h('p', {}, 'State: ', h('span', { class: `state ${job.state}`, id: 'job-state' }, job.state.replace('JOB_STATE_', '')),
        ` · base ${last(job.baseModel)} · data ${last(spec.trainingDatasetUri)} · epochs ${hp.epochCount ?? '—'} · adapter ${hp.adapterSize ?? '—'} · lr × ${hp.learningRateMultiplier ?? '—'}`),
      job.error ? h('p', { class: 'error' }, job.error.message) : null,
      tuned ? h('p', {}, 'Tuned model: ', h('a', { href: `#/models/${encodeURIComponent(last(String(tuned).split('@')[0]))}`, id: 'tuned-model-link' }, last(tuned))) : null);
    const running = job.state === 'JOB_STATE_RUNNING' || job.state === 'JOB_STATE_QUEUED' || job.state === 'JOB_STATE_PENDING';
    clear(actions, act('cancel', running || job.state === 'JOB_STATE_PAUSED'), act('pause', job.state === 'JOB_STATE_RUNNING'), act('resume', job.state === 'JOB_STATE_PAUSED'));
    const pts = metrics.metrics || [];
    const x = pts.map((p) => p.step);
    const col = (k) => pts.map((p) => (p[k] === undefined ? null : p[k]));
    if (pts.length) {
      loss(x, col('loss'), col('validationLoss'));
      acc(x, col('tokenAccuracy'), col('validationTokenAccuracy'));
      lrc(x, col('learningRate'));
      const p = pts[pts.length - 1];
      clear(stats, [['step', p.step], ['epoch', num(p.epoch, 3)], ['loss', num(p.loss)], ['validation loss', num(p.validationLoss)],
        ['learning rate', num(p.learningRate, 3)], ['tokens/s', num(p.tokensPerSecond, 4)], ['points', pts.length]].map(([k, v]) => h('div', {}, h('b', {}, String(v)), k)));
      lossEl.dataset.points = String(pts.length);
    }
    clear(checkpoints, table(['Checkpoint', 'Step', 'Epoch'], (job.tunedModel?.checkpoints || []).map((c) => [String(c.checkpointId), String(c.step), num(c.epoch, 3)])));
    for (const e of ev.events || []) {
      afterId = Math.max(afterId, Number(last(e.name)) || afterId);
      events.append(h('li', {}, h('span', { class: 'muted' }, `${e.createTime || ''} `), e.message || JSON.stringify(e)));
    }
    while (events.children.length > 200) events.firstChild.remove();
    events.parentElement.scrollTop = events.parentElement.scrollHeight;
    if (TERMINAL.includes(job.state)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

// -- Evaluations

function report(r) {
  const systems = r.systems || [];
  const metricNames = [...new Set(systems.flatMap((s) => Object.keys(s.metrics || {})))];
  const parts = [h('h2', {}, 'Metrics'),
    table(['Metric', ...systems.map((s) => s.name)], metricNames.map((m) => [m, ...systems.map((s) => {
      const v = s.metrics[m];
      return v ? `${num(v.value)} [${num(v.low, 3)}, ${num(v.high, 3)}]` : '—';
    })]))];
  for (const c of r.comparisons || []) {
    parts.push(h('h2', {}, `${c.system} vs ${c.baseline}`), table(['Metric', 'Difference', '95% interval', 'p-value', 'Significant'],
      Object.entries(c.metrics || {}).map(([m, d]) => [m, h('span', { class: d.delta > 0 ? 'pos' : d.delta < 0 ? 'neg' : '' }, num(d.delta)),
        `[${num(d.low, 3)}, ${num(d.high, 3)}]`, num(d.p_value, 3), d.p_value !== undefined && d.p_value < 0.05 ? 'yes (p < 0.05)' : 'no'])));
  }
  for (const s of systems) {
    if (!s.classification) continue;
    const labels = s.classification.labels || [];
    parts.push(h('h2', {}, `Confusion matrix: ${s.name}`), table(['true \\ predicted', ...labels, 'invalid'],
      (s.classification.confusion || []).map((row, i) => [labels[i], ...row.map(String)])));
  }
  if (systems.length >= 2 && r.examples?.length) {
    const [b, t] = [systems[0].name, systems[1].name];
    // The first metric on which some example differs between the two.
    const differs = (m) => r.examples.some((e) => e.scores?.[t]?.[m] !== undefined && e.scores[t][m] !== e.scores?.[b]?.[m]);
    const names = ['token_f1', 'accuracy', 'chrf', 'rougeL', 'exact_match', ...Object.keys(r.examples[0].scores?.[t] || {})];
    const metric = names.find(differs) || names.find((m) => r.examples[0].scores?.[t]?.[m] !== undefined);
    if (metric) {
      const diffs = r.examples.map((e) => ({ e, d: (e.scores[t][metric] ?? 0) - (e.scores[b][metric] ?? 0) })).sort((x, y) => y.d - x.d);
      const show = (list) => table(['Line', 'Prompt', 'Reference', b, t, `Δ ${metric}`], list.map(({ e, d }) =>
        [String(e.line), e.prompt, e.reference, e.outputs?.[b] ?? '', e.outputs?.[t] ?? '', num(d, 3)]));
      const wins = diffs.filter((x) => x.d > 0).slice(0, 5);
      const losses = diffs.filter((x) => x.d < 0).reverse().slice(0, 5);
      parts.push(h('h2', {}, `Biggest wins (by ${metric})`), wins.length ? show(wins) : h('p', { class: 'muted' }, 'None: no example scores higher tuned.'),
        h('h2', {}, `Biggest regressions (by ${metric})`), losses.length ? show(losses) : h('p', { class: 'muted' }, 'None: no example scores lower tuned.'));
    }
  }
  return parts;
}

async function pageEvaluations(el, _id, q) {
  const [models, files] = await Promise.all([listModels(), listFiles()]);
  const mine = registered(models).sort((a, b) => (b.metadata?.kind === 'tuned') - (a.metadata?.kind === 'tuned'));
  const model = select(mine.map((m) => [last(m.name), `${m.displayName || last(m.name)} (${m.metadata?.kind})`]), q.get('model') || (mine[0] ? last(mine[0].name) : ''));
  const data = select(files.map((f) => [f.id, `${f.filename} (${f.id})`]), q.get('data') || (files[0]?.id ?? ''));
  const maxTokens = h('input', { type: 'number', min: '1', max: '4096', value: '32' });
  const run = h('button', { type: 'submit' }, 'Run evaluation');
  const out = h('div', { id: 'eval-report', 'aria-live': 'polite' });
  const form = h('form', { class: 'panel' }, h('p', { class: 'muted' }, 'A tuned model is compared with its base on the test file (greedy decoding); the results are recorded as the models\' evaluations.'),
    h('div', { class: 'row' }, field('Model', model), field('Test dataset', data), field('Max new tokens', maxTokens), run));
  form.addEventListener('submit', busy(run, async () => {
    clear(out, h('p', { class: 'muted' }, 'Evaluating…'));
    const r = await post(`${V}/models/${encodeURIComponent(model.value)}:evaluate`, { datasetUri: data.value, maxTokens: Number(maxTokens.value) });
    clear(out, report(r));
  }));
  clear(el, h('h1', {}, 'Evaluations'), form, out);
}

// -- Endpoints

function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
const sum = (ms, name, pred = () => true) => ms.filter((m) => m.name === name && pred(m.labels)).reduce((a, m) => a + m.value, 0);

async function pageEndpoints(el, _id, q, alive) {
  const [models] = await Promise.all([listModels()]);
  const mine = registered(models);
  const list = h('div');
  const live = h('div', { class: 'stats', 'aria-live': 'polite', id: 'endpoint-metrics' });
  const epName = h('input', { type: 'text', required: true, placeholder: 'support-bot' });
  const createBtn = h('button', { type: 'submit' }, 'Create endpoint');
  const createForm = h('form', { class: 'row' }, field('Endpoint name', epName), createBtn);
  const target = select([], '');
  const model = select(mine.map((m) => [last(m.name), `${m.displayName || last(m.name)} (${m.metadata?.kind})`]), q.get('model') || (mine[0] ? last(mine[0].name) : ''));
  const minR = h('input', { type: 'number', min: '1', value: '1' });
  const maxR = h('input', { type: 'number', min: '1', value: '1' });
  const deployBtn = h('button', { type: 'submit' }, 'Deploy');
  const deployForm = h('form', { class: 'row' }, field('Endpoint', target), field('Model', model), field('Min replicas', minR), field('Max replicas', maxR), deployBtn);
  let endpoints = [];
  async function refresh() {
    endpoints = await listEndpoints();
    const keep = target.value;
    clear(target, endpoints.map((e) => h('option', { value: last(e.name), selected: last(e.name) === keep }, e.displayName)));
    clear(list, endpoints.length ? endpoints.map(endpointPanel) : h('p', { class: 'muted' }, 'No endpoints yet.'));
  }
  function endpointPanel(e) {
    const eid = last(e.name);
    const inputs = {};
    const split = (e.deployedModels || []).map((d) => {
      inputs[d.id] = h('input', { type: 'number', min: '0', max: '100', value: String(e.trafficSplit?.[d.id] ?? 0) });
      return field(`Traffic % to ${d.displayName || d.id}`, inputs[d.id]);
    });
    const save = h('button', { type: 'submit', class: 'secondary' }, 'Save traffic split');
    const splitForm = h('form', { class: 'row' }, split, save);
    splitForm.addEventListener('submit', busy(save, async () => {
      const ts = {};
      for (const [k, i] of Object.entries(inputs)) ts[k] = Number(i.value);
      await api('PATCH', `${V}/endpoints/${eid}`, { trafficSplit: ts });
      toast('traffic split saved', 'info');
      await refresh();
    }));
    const undeploy = (d) => {
      const b = h('button', { type: 'button', class: 'secondary' }, 'Undeploy');
      b.addEventListener('click', busy(b, async () => { await post(`${V}/endpoints/${eid}:undeployModel`, { deployedModelId: d.id }); await refresh(); }));
      return b;
    };
    return h('section', { class: 'panel', 'aria-label': `Endpoint ${e.displayName}` }, h('h2', {}, e.displayName), h('p', { class: 'muted' }, e.name),
      table(['Deployed model', 'Model', 'Replicas (min–max)', 'Live replicas', 'Traffic', ''], (e.deployedModels || []).map((d) => [
        d.displayName || d.id, last(d.model), `${d.dedicatedResources?.minReplicaCount ?? 1}–${d.dedicatedResources?.maxReplicaCount ?? 1}`,
        h('span', { 'data-replicas': `${eid}/${d.id}` }, '…'), `${e.trafficSplit?.[d.id] ?? 0}%`, undeploy(d)])),
      h('div', { class: 'stats', 'data-endpoint-stats': eid, 'aria-label': `Traffic of ${e.displayName}` }, h('div', {}, h('b', {}, '…'), 'requests/s')),
      split.length ? splitForm : null,
      h('a', { href: `#/playground?model=${encodeURIComponent(eid)}` }, 'Try in the playground'));
  }
  createForm.addEventListener('submit', busy(createBtn, async () => {
    const e = await post(`${V}/endpoints`, { displayName: epName.value });
    await refresh();
    target.value = last(e.name);
    epName.value = '';
  }));
  deployForm.addEventListener('submit', busy(deployBtn, async () => {
    if (!target.value) throw new ApiError('Create an endpoint first');
    await post(`${V}/endpoints/${target.value}:deployModel`, {
      deployedModel: { model: model.value, dedicatedResources: { minReplicaCount: Number(minR.value), maxReplicaCount: Number(maxR.value) } },
      trafficSplit: { 0: 100 },
    });
    toast('deployed', 'info');
    await refresh();
  }));
  clear(el, h('h1', {}, 'Endpoints'), h('div', { class: 'panel' }, createForm, deployForm), h('h2', {}, 'Live'), live, list);
  await refresh();
  let prev = null;
  const prevEp = {};
  while (alive()) {
    const r = await fetch('/metrics', { headers: authHeaders() });
    if (!alive()) return;
    if (r.status === 401) { showKeyPrompt(); return; }
    const ms = parseMetrics(await r.text());
    const now = { t: performance.now(), n: sum(ms, 'loam_requests_total'), lat: sum(ms, 'loam_request_duration_seconds_sum'), cnt: sum(ms, 'loam_request_duration_seconds_count') };
    const rate = prev ? (now.n - prev.n) / ((now.t - prev.t) / 1000) : 0;
    const lat = prev && now.cnt > prev.cnt ? (now.lat - prev.lat) / (now.cnt - prev.cnt) : now.cnt ? now.lat / now.cnt : 0;
    prev = now;
    clear(live, [['requests/s', num(rate, 3)], ['mean latency', `${num(lat * 1000, 3)} ms`], ['requests', now.n],
      ['replicas', sum(ms, 'loam_replicas')]].map(([k, v]) => h('div', {}, h('b', {}, String(v)), k)));
    // Per endpoint: the request counter and latency histogram's endpoint label.
    for (const box of list.querySelectorAll('[data-endpoint-stats]')) {
      const eid = box.dataset.endpointStats;
      const mine = (l) => l.endpoint === eid;
      const cur = { t: now.t, n: sum(ms, 'loam_requests_total', mine), lat: sum(ms, 'loam_request_duration_seconds_sum', mine), cnt: sum(ms, 'loam_request_duration_seconds_count', mine) };
      const p = prevEp[eid];
      const epRate = p ? (cur.n - p.n) / ((cur.t - p.t) / 1000) : 0;
      const epLat = p && cur.cnt > p.cnt ? (cur.lat - p.lat) / (cur.cnt - p.cnt) : cur.cnt ? cur.lat / cur.cnt : 0;
      prevEp[eid] = cur;
      clear(box, [['requests/s', num(epRate, 3)], ['mean latency', cur.cnt ? `${num(epLat * 1000, 3)} ms` : '—'], ['requests', cur.n],
        ['errors', sum(ms, 'loam_requests_total', (l) => mine(l) && Number(l.status) >= 400)]].map(([k, v]) => h('div', {}, h('b', {}, String(v)), k)));
    }
    for (const span of list.querySelectorAll('[data-replicas]')) {
      const [eid, did] = span.dataset.replicas.split('/');
      span.textContent = String(sum(ms, 'loam_replicas', (l) => l.endpoint === eid && l.deployed_model === did));
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

// -- Playground

async function* chatStream(body) {
  const r = await fetch('/v1/chat/completions', { method: 'POST', headers: { ...authHeaders(), 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  if (r.status === 401) { showKeyPrompt(); throw new KeyNeeded('API key needed'); }
  if (!r.ok) {
    let msg = `HTTP ${r.status}`;
    try { msg = (await r.json()).error?.message || msg; } catch { /* not JSON */ }
    throw new ApiError(msg);
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      const j = JSON.parse(data);
      const piece = j.choices?.[0]?.delta?.content;
      if (piece) yield piece;
    }
  }
}

async function pagePlayground(el, _id, q) {
  // Requests name a model by id and an endpoint by resource name: display
  // names (what /v1/models lists as ids) need not be unique.
  const list = (await get('/v1/models')).data || [];
  const opts = list.map((m) => (m.loam_endpoint ? [`${SCOPE}/${m.loam_endpoint}`, `${m.id} (endpoint)`]
    : [m.loam_id || m.id, m.parent ? `${m.id} (tuned from ${m.parent})` : m.id]));
  const want = q.get('model');
  const pick = (v) => opts.find(([id]) => v && (id === v || last(id) === v))?.[0] || opts[0]?.[0] || '';
  const a = select(opts, pick(want));
  const b = select([['', '(none)'], ...opts], '');
  const system = h('textarea', { rows: '2', placeholder: 'You are a helpful support agent.' });
  const temp = h('input', { type: 'number', min: '0', max: '2', step: '0.1', value: '0.7' });
  const topP = h('input', { type: 'number', min: '0', max: '1', step: '0.05', value: '0.95' });
  const maxTok = h('input', { type: 'number', min: '1', value: '128' });
  const prompt = h('textarea', { rows: '3', required: true });
  const send = h('button', { type: 'submit' }, 'Send');
  const reset = h('button', { type: 'button', class: 'secondary' }, 'New chat');
  const panes = [{ select: a, log: h('div', { class: 'panel', id: 'pane-a', 'aria-live': 'polite' }), history: [] },
    { select: b, log: h('div', { class: 'panel', id: 'pane-b', 'aria-live': 'polite' }), history: [] }];
  reset.addEventListener('click', () => { for (const p of panes) { p.history = []; clear(p.log); } });
  async function runPane(p, text) {
    if (!p.select.value) return;
    p.history.push({ role: 'user', content: text });
    const answer = h('div', { class: 'answer' });
    p.log.append(h('div', { class: 'msg' }, h('div', { class: 'who' }, 'you'), h('div', {}, text)),
      h('div', { class: 'msg' }, h('div', { class: 'who' }, p.select.selectedOptions[0]?.textContent || p.select.value), answer));
    const messages = system.value ? [{ role: 'system', content: system.value }, ...p.history] : p.history;
    let full = '';
    for await (const piece of chatStream({ model: p.select.value, messages, temperature: Number(temp.value), top_p: Number(topP.value), max_tokens: Number(maxTok.value) })) {
      full += piece;
      answer.textContent = full;
    }
    answer.dataset.done = 'true';
    p.history.push({ role: 'assistant', content: full });
  }
  const form = h('form', { class: 'panel' },
    h('div', { class: 'row' }, field('Model or endpoint', a), field('Compare with', b)),
    field('System instruction', system),
    h('div', { class: 'row' }, field('Temperature', temp), field('Top-p', topP), field('Max tokens', maxTok)),
    field('Prompt', prompt), h('div', { class: 'row' }, send, reset));
  form.addEventListener('submit', busy(send, async () => {
    const text = prompt.value;
    if (!text.trim()) throw new ApiError('Write a prompt first');
    prompt.value = '';
    await Promise.all(panes.map((p) => runPane(p, text)));
  }));
  clear(el, h('h1', {}, 'Playground'), form, h('div', { class: 'grid2' }, panes[0].log, panes[1].log));
}

// ---- start ----------------------------------------------------------------

async function start() {
  document.getElementById('key-button').addEventListener('click', () => showKeyPrompt());
  try {
    const health = await (await fetch('/health')).json();
    keyRequired = Boolean(health.apiKeyRequired);
  } catch { keyRequired = false; }
  document.getElementById('key-button').hidden = !keyRequired;
  window.addEventListener('hashchange', route);
  if (keyRequired && !apiKey) showKeyPrompt();
  else route();
}
start();
