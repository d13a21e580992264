// The official @google/genai client in Vertex mode, pointed at a loam
// server, running ai.tunings.tune / get / list unchanged. A static bearer
// token reaches the server through google-auth-library's OAuth2Client.
//   usage: node genai_tuning.cjs TOOLS_DIR BASE_URL API_KEY BASE_MODEL TRAIN_URI VALIDATION_URI
const { createRequire } = require('module');
const [toolsDir, baseUrl, apiKey, baseModel, trainUri, validationUri] = process.argv.slice(2);
const req = createRequire(require('path').resolve(toolsDir, 'package.json'));
const { GoogleGenAI } = req('@google/genai');
const { OAuth2Client } = req('google-auth-library');

async function main() {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: apiKey, expiry_date: Date.now() + 3600e3 });
  const ai = new GoogleGenAI({
    vertexai: true, project: 'demo-project', location: 'us-central1',
    googleAuthOptions: { authClient },
    httpOptions: { baseUrl },
  });
  const job = await ai.tunings.tune({
    baseModel,
    trainingDataset: { gcsUri: trainUri },
    config: {
      tunedModelDisplayName: 'genai-tuned',
      validationDataset: { gcsUri: validationUri },
      epochCount: 2,
      adapterSize: 'ADAPTER_SIZE_FOUR',
      learningRateMultiplier: 1.0,
    },
  });
  if (!job.name || !job.name.startsWith('projects/demo-project/locations/us-central1/tuningJobs/'))
    throw new Error('unexpected job name ' + job.name);
  let got = job;
  const deadline = Date.now() + 120e3;
  while (!['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(got.state)) {
    if (Date.now() > deadline) throw new Error('job did not finish: ' + got.state);
    await new Promise((r) => setTimeout(r, 300));
    got = await ai.tunings.get({ name: job.name });
  }
  const names = [];
  const pager = await ai.tunings.list({ config: { pageSize: 1 } });
  for await (const j of pager) names.push(j.name);
  console.log(JSON.stringify({ job: got, listed: names }));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
