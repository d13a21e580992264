// Preference tuning through the official clients against a loam server:
// @google/genai in Vertex mode (ai.tunings.tune with config.method
// PREFERENCE_TUNING and beta, continuing from a tuned model), and the
// openai client (fine_tuning.jobs.create with method dpo and beta).
//   usage: node preference_clients.cjs TOOLS_DIR BASE_URL API_KEY BASE_MODEL PRE_TUNED_MODEL TRAIN_URI VALIDATION_URI OPENAI_TRAIN_FILE
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const [toolsDir, baseUrl, apiKey, baseModel, preTuned, trainUri, validationUri, openaiTrain] = process.argv.slice(2);
const req = createRequire(path.resolve(toolsDir, 'package.json'));
const { GoogleGenAI } = req('@google/genai');
const { OAuth2Client } = req('google-auth-library');
const OpenAI = req('openai').default;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function check(cond, what) { if (!cond) throw new Error('check failed: ' + what); }
const DONE = ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'];

async function main() {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: apiKey, expiry_date: Date.now() + 3600e3 });
  const ai = new GoogleGenAI({
    vertexai: true, project: 'demo-project', location: 'us-central1',
    googleAuthOptions: { authClient }, httpOptions: { baseUrl },
  });
  const job = await ai.tunings.tune({
    baseModel,
    preTunedModel: { tunedModelName: preTuned },
    trainingDataset: { gcsUri: trainUri },
    config: {
      method: 'PREFERENCE_TUNING',
      tunedModelDisplayName: 'genai-dpo',
      validationDataset: { gcsUri: validationUri },
      epochCount: 2, beta: 0.2, adapterSize: 'ADAPTER_SIZE_FOUR', learningRateMultiplier: 10.0,
    },
  });
  let got = job;
  const deadline = Date.now() + 120e3;
  while (!DONE.includes(got.state)) {
    if (Date.now() > deadline) throw new Error('job did not finish: ' + got.state);
    await sleep(300);
    got = await ai.tunings.get({ name: job.name });
  }
  check(got.state === 'JOB_STATE_SUCCEEDED', 'genai job ' + JSON.stringify(got));
  check(got.preferenceOptimizationSpec && got.preferenceOptimizationSpec.hyperParameters.beta === 0.2,
        'preferenceOptimizationSpec ' + JSON.stringify(got));

  const client = new OpenAI({ apiKey, baseURL: baseUrl + '/v1', maxRetries: 0 });
  const file = await client.files.create({ file: fs.createReadStream(openaiTrain), purpose: 'fine-tune' });
  const oj = await client.fineTuning.jobs.create({
    model: baseModel, training_file: file.id, suffix: 'dpo',
    method: { type: 'dpo', dpo: { hyperparameters: { beta: 0.25, n_epochs: 1, batch_size: 4 } } },
  });
  check(oj.method && oj.method.type === 'dpo' && oj.method.dpo.hyperparameters.beta === 0.25, 'openai method ' + JSON.stringify(oj.method));
  let o = oj;
  const d2 = Date.now() + 120e3;
  while (!['succeeded', 'failed', 'cancelled'].includes(o.status)) {
    if (Date.now() > d2) throw new Error('openai job still ' + o.status);
    await sleep(300);
    o = await client.fineTuning.jobs.retrieve(oj.id);
  }
  check(o.status === 'succeeded', 'openai job ' + JSON.stringify(o));
  console.log(JSON.stringify({ genai: got, openai: o }));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
