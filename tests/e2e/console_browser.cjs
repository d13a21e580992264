// Drives the web console in Debian's chromium (headless, puppeteer-core) as
// a user would, against a `loam serve` started with an API key:
//   node console_browser.cjs WEB_DIR URL KEY SHOTS_DIR TRAIN_JSONL BAD_JSONL TEST_JSONL XSS_NAME
// Fails on any console error, page error, dialog, failed request, HTTP
// status >= 400 or request to another origin. Prints one JSON summary.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const [webDir, url, key, shots, trainFile, badFile, testFile, xssName] = process.argv.slice(2);
const puppeteer = require(path.join(webDir, 'node_modules', 'puppeteer-core'));

const problems = [];
let expect401 = false;  // while a wrong key is tried on purpose
const origin = new URL(url).origin;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function check(cond, what) { if (!cond) throw new Error(`check failed: ${what}`); }

async function waitText(page, selector, pattern, timeout = 30000) {
  const t0 = Date.now();
  for (;;) {
    const text = await page.$eval(selector, (e) => e.textContent).catch(() => null);
    if (text !== null && pattern.test(text)) return text;
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${selector} to match ${pattern} (now: ${String(text).slice(0, 200)})`);
    await sleep(100);
  }
}
async function waitHash(page, pattern, timeout = 15000) {
  const t0 = Date.now();
  for (;;) {
    const h = await page.evaluate(() => location.hash);
    if (pattern.test(h)) return h;
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for location ${pattern} (now ${h})`);
    await sleep(100);
  }
}
// Selects the <select>/<input> whose <label> text starts with `label`.
async function control(page, label) {
  const id = await page.evaluate((l) => {
    const labels = [...document.querySelectorAll('label')].filter((x) => x.firstChild);
    const lab = labels.find((x) => x.firstChild.textContent.trim() === l) || labels.find((x) => x.firstChild.textContent.trim().startsWith(l));
    return lab ? lab.getAttribute('for') : null;
  }, label);
  check(id, `a control labelled "${label}"`);
  return `#${id}`;
}
async function setValue(page, label, value) {
  const sel = await control(page, label);
  await page.$eval(sel, (e, v) => { e.value = v; e.dispatchEvent(new Event('change')); }, String(value));
}
async function clickButton(page, text, scope = 'body') {
  const ok = await page.evaluate((t, sc) => {
    const b = [...document.querySelectorAll(`${sc} button`)].find((x) => x.textContent.trim() === t && !x.disabled);
    if (b) b.click();
    return Boolean(b);
  }, text, scope);
  check(ok, `an enabled button "${text}"`);
}
const tStart = Date.now();
const timings = {};
async function shot(page, name) {
  timings[name] = Math.round((Date.now() - tStart) / 100) / 10;
  // Usable on a laptop screen: nothing needs horizontal scrolling.
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `${name}: the page is ${wide}px wider than the window`);
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-default-apps', '--disable-dev-shm-usage'],
  });
  const summary = {};
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });  // a laptop screen
    page.on('console', (m) => {
      if (expect401 && /\b401\b/.test(m.text())) return;  // the browser's own note of the refused request
      if (m.type() === 'error' || m.type() === 'assert') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', async (d) => { problems.push(`dialog (${d.type()}): ${d.message()}`); await d.dismiss(); });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push(`request leaves the machine: ${r.url()}`); });
    page.on('response', (r) => {
      if (expect401 && r.status() === 401) return;
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });

    // 1. No key yet: a clear prompt, not a broken page.
    await page.goto(url + '/', { waitUntil: 'networkidle0' });
    await waitText(page, 'main h1', /API key needed/);
    const keyInput = await control(page, 'API key');
    await shot(page, '01-api-key');
    check((await page.$$('main table')).length === 0, 'no page content before the key');
    // A wrong key: the prompt again, saying so, and nothing else on the page.
    expect401 = true;
    await page.type(keyInput, `${key}-wrong`);
    await clickButton(page, 'Continue');
    await waitText(page, 'main', /did not accept this API key/);
    check(/API key needed/.test(await page.$eval('main h1', (e) => e.textContent)), 'the key prompt is back');
    check((await page.$$('main table, main .card')).length === 0, 'no page content with a wrong key');
    await shot(page, '01b-api-key-wrong');
    expect401 = false;
    await page.type(await control(page, 'API key'), key);
    await clickButton(page, 'Continue');

    // 2. Model garden: registered models and the catalog; the hostile display name is text.
    await waitText(page, 'main h1', /Model garden/);
    await waitText(page, 'main', /model garden ·/);
    const garden = await page.$eval('main', (e) => e.textContent);
    check(garden.includes(xssName), 'the hostile display name shows as text');
    check((await page.$$('main img')).length === 0, 'no <img> made from data');
    await shot(page, '02-model-garden');
    await page.goto(`${url}/#/models?view=table&filter=${encodeURIComponent('labels.family=llama')}`);
    await waitText(page, 'main table', /Llama/);
    const rows = await page.$$eval('main tbody tr', (r) => r.length);
    check(rows > 0, 'the filter finds llama models');
    await shot(page, '02b-model-garden-table');
    // The registered model's row has its memory figures, not dashes.
    await page.goto(`${url}/#/models?view=table`);
    await waitText(page, 'main table', /imported/);
    const demoRow = await page.$$eval('main tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)).find((c) => c[1] === 'imported'));
    check(demoRow && /[KMG]iB$/.test(demoRow[7]) && /[KMG]iB$/.test(demoRow[8]), `memory to tune and serve for a registered model (${demoRow})`);

    // A catalog entry's own page: what the catalog knows and how to get it.
    await page.goto(`${url}/#/models`);
    await waitText(page, 'main', /model garden ·/);
    const gardenHref = await page.$eval('main a[href^="#/garden/"]', (a) => a.getAttribute('href'));
    await page.click(`main a[href="${gardenHref}"]`);
    await waitHash(page, /#\/garden\//);
    const hfId = decodeURIComponent(gardenHref.slice('#/garden/'.length));
    await waitText(page, '#pull-command', new RegExp(`^loam models pull ${hfId.replace(/[.]/g, '\\.')}$`));
    const facts = await page.$eval('main dl', (e) => e.textContent);
    for (const k of ['Hugging Face id', 'Parameters', 'Context', 'License', 'Architecture', 'Tunable', 'Recommended LoRA'])
      check(facts.includes(k), `the catalog page shows ${k} (${facts})`);
    check(facts.includes(hfId), 'the catalog page names the HF id');
    await waitText(page, '#model-memory', /[KMG]iB\s*to tune.*[KMG]iB\s*to serve/);
    await waitText(page, '#tune-after-pull', /once it is registered/);
    await shot(page, '02c-catalog-model');

    // 3. Datasets: a bad file names its lines; the bundled dataset is valid.
    await page.goto(`${url}/#/datasets`);
    await waitText(page, 'main h1', /Datasets/);
    let input = await page.$(await control(page, 'Dataset file'));
    await input.uploadFile(badFile);
    await waitHash(page, /#\/datasets\/file-/);
    await waitText(page, '#validation-summary', /Invalid/);
    const issues = await page.$$eval('main tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    const named = (line, fieldRe, msgRe) => issues.some((r) => r[0] === 'error' && r[1].startsWith('file-') && r[2] === line && fieldRe.test(r[3]) && msgRe.test(r[4]));
    check(named('2', /.*/, /invalid JSON/) && named('3', /output_text/, /missing/), `each bad line is named (${JSON.stringify(issues)})`);
    const badSamples = await page.$$eval('main pre', (p) => p.map((x) => x.textContent));
    check(badSamples.some((t) => t.includes('<img src=x onerror=alert(1)>')), 'the dataset\'s markup shows as text');
    check((await page.$$('main img')).length === 0, 'no <img> made from dataset text');
    await shot(page, '03a-dataset-invalid');
    await page.goto(`${url}/#/datasets`);
    await waitText(page, 'main h1', /Datasets/);
    input = await page.$(await control(page, 'Dataset file'));
    await input.uploadFile(trainFile);
    const trainHash = await waitHash(page, /#\/datasets\/file-/);
    const trainId = decodeURIComponent(trainHash.split('/')[2]);
    await waitText(page, '#validation-summary', /Valid: 20 examples/);
    await waitText(page, 'main', /Rendered training examples/);
    const rendered = await page.$$eval('main pre', (p) => p.map((x) => x.textContent));
    check(rendered.length === 3 && rendered.every((t) => t.length > 20), 'three rendered examples');
    await shot(page, '03b-dataset');
    await setValue(page, 'Validation fraction', 0.25);
    await clickButton(page, 'Split');
    const split = await waitText(page, 'main form:last-of-type', /train: file-.*\(15 examples\).*validation: file-.*\(5 examples\)/);
    summary.split = split;
    summary.trainFile = trainId;
    // The held-out test file for the evaluation, uploaded the same way.
    await page.goto(`${url}/#/datasets`);
    await waitText(page, 'main h1', /Datasets/);
    input = await page.$(await control(page, 'Dataset file'));
    await input.uploadFile(testFile);
    const testHash = await waitHash(page, /#\/datasets\/file-/);
    const testId = decodeURIComponent(testHash.split('/')[2]);
    await waitText(page, '#validation-summary', /Valid/);

    // 4. A tuning job from the form: estimate, submit, watch it run.
    await page.goto(`${url}/#/jobs/new?train=${encodeURIComponent(trainId)}`);
    await waitText(page, 'main h1', /New tuning job/);
    await setValue(page, 'Tuned model name', 'console-tuned');
    // 240 steps with 12 checkpoints: a few seconds to watch on a quiet
    // machine, a few minutes at most on a loaded one.
    await setValue(page, 'Epochs', 12);
    await setValue(page, 'Adapter size', 4);
    await setValue(page, 'Batch size', 1);
    await setValue(page, 'Learning rate', 0.002);
    await clickButton(page, 'Estimate memory and time');
    const plan = await waitText(page, '#plan', /steps/);
    const steps = Number((/(\d+)\s*steps/.exec(plan) || [])[1]);
    check(steps === 240, `the plan counts 20 examples x 12 epochs = 240 steps (${plan})`);
    await shot(page, '04-new-job');
    await clickButton(page, 'Start tuning');
    const jobHash = await waitHash(page, /#\/jobs\/[0-9a-z]+$/);
    summary.job = jobHash.split('/')[2];
    const seen = [];
    const t0 = Date.now();
    for (;;) {
      const s = await page.evaluate(() => ({ state: document.querySelector('#job-state')?.textContent || '', points: Number(document.querySelector('#loss-chart')?.dataset.points || 0) }));
      if (!seen.length || seen[seen.length - 1].points !== s.points || seen[seen.length - 1].state !== s.state) seen.push(s);
      if (/SUCCEEDED|FAILED|CANCELLED/.test(s.state)) break;
      if (Date.now() - t0 > 400000) throw new Error(`job still ${s.state} after 400 s`);
      await sleep(150);
    }
    summary.chartUpdates = seen;
    check(seen[seen.length - 1].state === 'SUCCEEDED', `the job succeeded (${JSON.stringify(seen.slice(-3))})`);
    // The chart showed points while the job ran, and more came after.
    const firstRunning = seen.findIndex((s) => s.state === 'RUNNING' && s.points > 0);
    check(firstRunning >= 0 && seen.slice(firstRunning + 1).some((s) => s.points > seen[firstRunning].points),
      `the loss chart gained points while running (${JSON.stringify(seen)})`);
    await page.waitForSelector('#loss-chart canvas');
    await page.waitForSelector('#tuned-model-link');
    await sleep(800);  // the last poll's chart and events
    await shot(page, '05-job');

    // 5. The tuned model's page and lineage.
    await page.click('#tuned-model-link');
    await waitHash(page, /#\/models\//);
    const tunedId = decodeURIComponent((await page.evaluate(() => location.hash)).split('/')[2]);
    await waitText(page, 'main', /Lineage/);
    const lineage = await waitText(page, '[aria-label="Lineage"]', /base:.*data:.*job:.*tuned model:.*endpoints:/);
    check(lineage.includes(xssName), 'lineage shows the base by its (hostile) display name, as text');
    check((await page.$$('main img')).length === 0, 'no <img> made from the display name');
    check(lineage.includes(summary.job), 'lineage names the job');
    await waitText(page, '#model-memory', /[KMG]iB\s*weights.*n\/a \(tuned\)to tune.*[KMG]iB\s*to serve/);
    await shot(page, '06-tuned-model');
    // Its base: memory to tune and to serve from the checkpoint's config.
    await page.click('[aria-label="Lineage"] a[href^="#/models/"]');
    await waitText(page, 'main h1', new RegExp(xssName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await waitText(page, '#model-memory', /[KMG]iB\s*weights.*[KMG]iB\s*to tune.*[KMG]iB\s*to serve/);

    // The Advanced fold: open-model knobs submit a PipelineJob, and the job
    // runs with them (the tuned model's lineage records what it used).
    await page.goto(`${url}/#/jobs/new?train=${encodeURIComponent(trainId)}`);
    await waitText(page, 'main h1', /New tuning job/);
    await page.click('main details summary');
    await setValue(page, 'Tuned model name', 'console-advanced');
    await setValue(page, 'Epochs', 1);
    await setValue(page, 'Batch size', 4);
    await setValue(page, 'Max sequence length', 64);
    await setValue(page, 'LoRA alpha', 12);
    await setValue(page, 'LoRA dropout', 0.1);
    await setValue(page, 'Gradient accumulation steps', 2);
    await clickButton(page, 'Start tuning');
    const advHash = await waitHash(page, /#\/jobs\/[0-9a-z]+$/);
    await waitText(page, '#job-state', /SUCCEEDED/, 300000);
    const adv = await page.evaluate(async (id, k) => {
      const get = async (p) => (await fetch(p, { headers: { Authorization: `Bearer ${k}` } })).json();
      const pj = await get(`/v1/projects/local/locations/local/pipelineJobs/${id}`);
      const job = await get(`/v1/projects/local/locations/local/tuningJobs/${id}`);
      const model = await get(`/v1/projects/local/locations/local/models/${job.tunedModel.model.split('/').pop().split('@')[0]}`);
      return { pv: pj.runtimeConfig?.parameterValues, hp: model.metadata.lineage.hyperparameters };
    }, advHash.split('/')[2], key);
    summary.advanced = adv;
    check(adv.pv && Number(adv.pv.max_seq_length) === 64 && Number(adv.pv.gradient_accumulation_steps) === 2, `a PipelineJob with the knobs (${JSON.stringify(adv.pv)})`);
    check(adv.hp.max_seq_length === 64 && adv.hp.lora_alpha === 12 && Math.abs(adv.hp.lora_dropout - 0.1) < 1e-6 && adv.hp.batch_size === 4,
      `the job ran with the knobs (${JSON.stringify(adv.hp)})`);
    // 20 examples in batches of 4 = 5 micro-batches; accumulating 2 makes 3 steps.
    check(adv.hp.steps === 3, `gradient accumulation took effect: 3 steps (${adv.hp.steps})`);

    // 6. Deploy it on a new endpoint (1..2 replicas); live replica count from /metrics.
    await page.goto(`${url}/#/endpoints?model=${encodeURIComponent(tunedId)}`);
    await waitText(page, 'main h1', /Endpoints/);
    await page.type(await control(page, 'Endpoint name'), 'console-endpoint');
    await clickButton(page, 'Create endpoint');
    await waitText(page, 'main', /console-endpoint/);
    const epSel = await control(page, 'Endpoint');
    await page.waitForFunction((s) => [...document.querySelector(s).options].some((o) => o.textContent === 'console-endpoint'), {}, epSel);
    await page.evaluate((s) => { const el = document.querySelector(s); el.value = [...el.options].find((o) => o.textContent === 'console-endpoint').value; }, epSel);
    await setValue(page, 'Max replicas', 2);
    await clickButton(page, 'Deploy');
    const panel = 'section[aria-label="Endpoint console-endpoint"]';
    await waitText(page, panel, /1–2/);
    await waitText(page, `${panel} [data-replicas]`, /^1$/, 10000);
    await waitText(page, '#endpoint-metrics', /replicas/);
    await waitText(page, `${panel} [data-endpoint-stats]`, /requests\/s.*mean latency.*requests/);
    await shot(page, '07-endpoints');
    // A second deployed model (the base) and a 70/30 traffic split from the control.
    const baseId = await page.$eval(await control(page, 'Model'), (s) => [...s.options].find((o) => !o.textContent.includes('(tuned)')).value);
    await page.select(await control(page, 'Model'), baseId);
    await setValue(page, 'Max replicas', 1);
    await clickButton(page, 'Deploy');
    await waitText(page, panel, /1–1/);
    const trafficInputs = await page.$$eval(`${panel} input[type=number]`, (i) => i.map((x) => x.id));
    check(trafficInputs.length === 2, 'a traffic control per deployed model');
    await page.$eval(`#${trafficInputs[0]}`, (e) => { e.value = '70'; });
    await page.$eval(`#${trafficInputs[1]}`, (e) => { e.value = '30'; });
    await clickButton(page, 'Save traffic split', panel);
    await waitText(page, panel, /70%.*30%/);
    const endpointId = await page.$eval(`${panel} p`, (p) => p.textContent.split('/').pop());

    // 7. The playground: the endpoint and the base side by side, streamed.
    await page.goto(`${url}/#/playground?model=${encodeURIComponent(endpointId)}`);
    await waitText(page, 'main h1', /Playground/);
    const a = await control(page, 'Model or endpoint');
    const chosen = await page.$eval(a, (s) => s.selectedOptions[0].textContent);
    check(chosen === 'console-endpoint (endpoint)', `the playground opens on the endpoint (${chosen})`);
    const b = await control(page, 'Compare with');
    const baseOpt = await page.$eval(b, (s) => [...s.options].find((o) => o.value && !o.textContent.includes('tuned from') && !o.textContent.endsWith('(endpoint)')).value);
    await page.select(b, baseOpt);
    await setValue(page, 'Max tokens', 24);
    await setValue(page, 'Temperature', 0);
    await page.type(await control(page, 'Prompt'), 'Where is the agent config file on Linux?');
    await clickButton(page, 'Send');
    await page.waitForSelector('#pane-a .answer[data-done="true"]', { timeout: 60000 });
    await page.waitForSelector('#pane-b .answer[data-done="true"]', { timeout: 60000 });
    const answers = await page.$$eval('.answer', (a) => a.map((x) => x.textContent));
    check(answers.length === 2 && answers[0].length > 0, `an answer in the playground (${JSON.stringify(answers)})`);
    summary.answers = answers;
    await shot(page, '08-playground');
    // The endpoint's own request rate and latency (its endpoint label in /metrics) count the playground's request.
    await page.goto(`${url}/#/endpoints`);
    await waitText(page, `${panel} [data-endpoint-stats]`, /ms\s*mean latency\s*[1-9]\d*\s*requests\d/, 15000);

    // 8. An evaluation from the page: base vs tuned on the held-out file.
    await page.goto(`${url}/#/evaluations?model=${encodeURIComponent(tunedId)}&data=${encodeURIComponent(testId)}`);
    await waitText(page, 'main h1', /Evaluations/);
    await setValue(page, 'Max new tokens', 16);
    await clickButton(page, 'Run evaluation');
    const rep = await waitText(page, '#eval-report', /tuned vs base/, 120000);
    check(/p-value/.test(rep) && /token_f1/.test(rep) && /perplexity/.test(rep), 'the report compares base and tuned with significance');
    check(/Biggest wins/.test(rep) && /Biggest regressions/.test(rep), 'wins and regressions');
    await shot(page, '09-evaluation');

    // Pause, resume and cancel a second job from its page.
    await page.goto(`${url}/#/jobs/new?train=${encodeURIComponent(trainId)}`);
    await waitText(page, 'main h1', /New tuning job/);
    await setValue(page, 'Tuned model name', 'console-cancelled');
    await setValue(page, 'Epochs', 1000);
    await setValue(page, 'Batch size', 4);
    await clickButton(page, 'Start tuning');
    await waitHash(page, /#\/jobs\/[0-9a-z]+$/);
    await waitText(page, '#job-state', /RUNNING/, 60000);
    await clickButton(page, 'Pause');
    await waitText(page, '#job-state', /PAUSED/, 60000);
    await clickButton(page, 'Resume');
    await waitText(page, '#job-state', /RUNNING|QUEUED|PENDING/, 60000);
    await waitText(page, '#job-state', /RUNNING/, 60000);
    await clickButton(page, 'Cancel');
    await waitText(page, '#job-state', /CANCELLED/, 60000);
    await shot(page, '10-job-cancelled');

    // Keyboard: the nav is reachable by Tab and follows Enter.
    await page.goto(`${url}/#/models`);
    await page.reload({ waitUntil: 'networkidle0' });  // a fresh page: focus starts at the top
    await waitText(page, 'main h1', /Model garden/);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    check(focused === 'Model garden', `Tab reaches the navigation (focused: ${focused})`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await waitText(page, 'main h1', /Datasets/);
  } finally {
    await browser.close();
  }
  summary.problems = problems;
  summary.seconds = timings;
  console.log(JSON.stringify(summary));
  if (problems.length) { console.error(problems.join('\n')); process.exit(1); }
})().catch((e) => {
  console.error(e.stack || String(e));
  if (problems.length) console.error(problems.join('\n'));
  process.exit(1);
});
