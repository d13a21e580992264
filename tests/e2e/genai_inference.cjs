// The official @google/genai client in Vertex mode against a loam endpoint:
// generateContent (systemInstruction, generationConfig, candidateCount,
// text/x.enum) and generateContentStream on the endpoint's resource name.
//   usage: node genai_inference.cjs TOOLS_DIR BASE_URL API_KEY ENDPOINT_RESOURCE_NAME
const { createRequire } = require('module');
const [toolsDir, baseUrl, apiKey, endpoint] = process.argv.slice(2);
const req = createRequire(require('path').resolve(toolsDir, 'package.json'));
const { GoogleGenAI } = req('@google/genai');
const { OAuth2Client } = req('google-auth-library');

function check(cond, what) { if (!cond) throw new Error('check failed: ' + what); }

async function main() {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: apiKey, expiry_date: Date.now() + 3600e3 });
  const ai = new GoogleGenAI({ vertexai: true, project: 'p', location: 'l', googleAuthOptions: { authClient }, httpOptions: { baseUrl } });
  const contents = [{ role: 'user', parts: [{ text: 'How do I reset my password?' }] }];
  const config = { systemInstruction: 'You answer support questions.', temperature: 0, maxOutputTokens: 12, seed: 3 };
  const r = await ai.models.generateContent({ model: endpoint, contents, config });
  check(r.candidates.length === 1 && typeof r.text === 'string', 'response ' + JSON.stringify(r));
  check(['STOP', 'MAX_TOKENS'].includes(r.candidates[0].finishReason), 'finishReason');
  check(r.usageMetadata.candidatesTokenCount > 0 && r.usageMetadata.totalTokenCount === r.usageMetadata.promptTokenCount + r.usageMetadata.candidatesTokenCount, 'usage');

  let streamed = '', chunks = 0, finish = null;
  for await (const c of await ai.models.generateContentStream({ model: endpoint, contents, config })) {
    streamed += c.text || '';
    chunks++;
    if (c.candidates && c.candidates[0].finishReason) finish = c.candidates[0].finishReason;
  }
  check(streamed === r.text, `streamed ${JSON.stringify(streamed)} != ${JSON.stringify(r.text)}`);
  check(chunks >= 2 && finish === r.candidates[0].finishReason, 'stream chunks/finish');

  const two = await ai.models.generateContent({ model: endpoint, contents, config: { ...config, temperature: 1, candidateCount: 2 } });
  check(two.candidates.length === 2, 'candidateCount');

  const labels = ['billing', 'technical', 'account'];
  const en = await ai.models.generateContent({ model: endpoint, contents,
    config: { temperature: 1, seed: 5, responseMimeType: 'text/x.enum', responseSchema: { type: 'STRING', enum: labels } } });
  check(labels.includes(en.text.trim()), 'enum ' + JSON.stringify(en.text));

  let err = null;
  try { await ai.models.generateContent({ model: endpoint, contents, config: { maxOutputTokens: -1 } }); } catch (e) { err = e; }
  check(err && String(err.message).includes('maxOutputTokens'), 'negative maxOutputTokens: ' + (err && err.message));
  console.log(JSON.stringify({ text: r.text }));
}

main().catch((e) => { console.error(e); process.exit(1); });
