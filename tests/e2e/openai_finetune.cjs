// The official `openai` npm client against a loam server: upload a file,
// create a supervised fine-tuning job with "auto" and explicit
// hyperparameters, follow it, read events and checkpoints, list jobs and
// files, pause/resume/cancel a second job, read and delete a file.
//   usage: node openai_finetune.cjs TOOLS_DIR BASE_URL API_KEY MODEL TRAIN_FILE
const path = require('path');
const fs = require('fs');
const { createRequire } = require('module');
const [toolsDir, baseUrl, apiKey, model, trainPath] = process.argv.slice(2);
const OpenAI = createRequire(path.resolve(toolsDir, 'package.json'))('openai').default;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function check(cond, what) { if (!cond) throw new Error('check failed: ' + what); }

async function waitFor(client, id, states, ms = 120e3) {
  const deadline = Date.now() + ms;
  for (;;) {
    const j = await client.fineTuning.jobs.retrieve(id);
    if (states.includes(j.status)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j.status}`);
    await sleep(200);
  }
}

async function main() {
  const client = new OpenAI({ apiKey, baseURL: baseUrl + '/v1', maxRetries: 0 });
  const file = await client.files.create({ file: fs.createReadStream(trainPath), purpose: 'fine-tune' });
  check(file.id.startsWith('file-') && file.bytes === fs.statSync(trainPath).size, 'file object ' + JSON.stringify(file));
  const job = await client.fineTuning.jobs.create({
    model, training_file: file.id, suffix: 'support', seed: 7,
    method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 2, batch_size: 'auto', learning_rate_multiplier: 'auto' } } },
  });
  check(job.id.startsWith('ftjob-') && job.object === 'fine_tuning.job', 'job object');
  const done = await waitFor(client, job.id, ['succeeded', 'failed', 'cancelled']);
  check(done.status === 'succeeded', 'status ' + JSON.stringify(done));
  check(done.fine_tuned_model && done.fine_tuned_model.includes(':support:'), 'fine_tuned_model ' + done.fine_tuned_model);
  check(done.hyperparameters.n_epochs === 2 && done.seed === 7, 'hyperparameters ' + JSON.stringify(done.hyperparameters));
  const events = await client.fineTuning.jobs.listEvents(job.id, { limit: 100 });
  check(events.data.length > 3 && events.data.some((e) => e.message.startsWith('succeeded')), 'events');
  const cps = await client.fineTuning.jobs.checkpoints.list(job.id);
  check(cps.data.length === 2 && cps.data[0].step_number > cps.data[1].step_number, 'checkpoints ' + JSON.stringify(cps.data));
  const jobs = await client.fineTuning.jobs.list({ limit: 10 });
  check(jobs.data.some((j) => j.id === job.id), 'jobs list');

  // A longer job: pause, resume, cancel.
  const long = await client.fineTuning.jobs.create({ model, training_file: file.id, hyperparameters: { n_epochs: 300, batch_size: 1 } });
  await waitFor(client, long.id, ['running']);
  await sleep(500);
  await client.fineTuning.jobs.pause(long.id);
  await waitFor(client, long.id, ['paused']);
  await client.fineTuning.jobs.resume(long.id);
  await waitFor(client, long.id, ['running', 'queued']);
  await client.fineTuning.jobs.cancel(long.id);
  await waitFor(client, long.id, ['cancelled'], 10e3);

  let refused = false;
  try { await client.fineTuning.jobs.create({ model: 'no-such-model', training_file: file.id }); } catch (e) { refused = e.status === 404; }
  check(refused, 'unknown model not refused with 404');

  const files = await client.files.list();
  check(files.data.some((f) => f.id === file.id), 'files list');
  const content = await (await client.files.content(file.id)).text();
  check(content === fs.readFileSync(trainPath, 'utf8'), 'file content');
  const del = await client.files.delete(file.id);
  check(del.deleted === true, 'delete');
  console.log(JSON.stringify({ job: done.id, fine_tuned_model: done.fine_tuned_model }));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
