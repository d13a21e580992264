// The official `openai` npm client against a loam server's inference API:
// models list (a tuned model with its parent), chat completions (plain,
// streamed with usage, n, seed, stop, logprobs, a string-enum
// response_format), a tuned model by name, text completions, and refusals
// naming the field.
//   usage: node openai_inference.cjs TOOLS_DIR BASE_URL API_KEY BASE_NAME TUNED_NAME
// Prints a JSON summary for the calling test to check further.
const path = require('path');
const { createRequire } = require('module');
const [toolsDir, baseUrl, apiKey, baseName, tunedName] = process.argv.slice(2);
const OpenAI = createRequire(path.resolve(toolsDir, 'package.json'))('openai').default;

function check(cond, what) { if (!cond) throw new Error('check failed: ' + what); }
const ask = [{ role: 'system', content: 'You answer support questions.' }, { role: 'user', content: 'How do I reset my password?' }];

async function main() {
  const client = new OpenAI({ apiKey, baseURL: baseUrl + '/v1', maxRetries: 0 });
  const out = {};

  const models = await client.models.list();
  const ids = models.data.map((m) => m.id);
  check(ids.includes(baseName) && ids.includes(tunedName), 'models list ' + JSON.stringify(ids));
  check(models.data.find((m) => m.id === tunedName).parent === baseName, 'tuned model parent');

  const plain = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 0, max_tokens: 12, seed: 1 });
  check(plain.object === 'chat.completion' && plain.choices.length === 1, 'chat object');
  check(plain.choices[0].message.role === 'assistant' && typeof plain.choices[0].message.content === 'string', 'message');
  check(['stop', 'length'].includes(plain.choices[0].finish_reason), 'finish_reason');
  check(plain.usage.completion_tokens > 0 && plain.usage.total_tokens === plain.usage.prompt_tokens + plain.usage.completion_tokens, 'usage');
  out.plain = plain.choices[0].message.content;

  // Streaming: the chunks add up to the same greedy text; usage comes last.
  const stream = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 0, max_tokens: 12, seed: 1,
    stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, finish = null, n = 0;
  for await (const chunk of stream) {
    check(chunk.object === 'chat.completion.chunk', 'chunk object');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
    n++;
  }
  check(text === out.plain, `streamed text ${JSON.stringify(text)} != ${JSON.stringify(out.plain)}`);
  check(usage && usage.completion_tokens === plain.usage.completion_tokens && finish === plain.choices[0].finish_reason, 'stream usage/finish');
  check(n >= 3, 'stream had ' + n + ' chunks');

  // Sampling with a seed is reproducible; n gives n choices.
  const s1 = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 1, max_tokens: 10, seed: 42, n: 2 });
  const s2 = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 1, max_tokens: 10, seed: 42, n: 2 });
  check(s1.choices.length === 2 && s1.choices.map((c) => c.message.content).join('|') === s2.choices.map((c) => c.message.content).join('|'), 'seeded n=2');

  // Log-probabilities: one entry per token, top alternatives sorted, the chosen token's the max under greedy.
  const lp = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 0, max_tokens: 5, logprobs: true, top_logprobs: 3 });
  const content = lp.choices[0].logprobs.content;
  check(content.length === lp.usage.completion_tokens, 'logprobs per token');
  for (const t of content) {
    check(t.top_logprobs.length === 3 && t.logprob <= 0, 'top_logprobs');
    check(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-4, 'greedy token is the most likely');
    check(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob, 'sorted');
  }
  // Streamed, the same log-probabilities arrive token by token: each chunk
  // carries one token's, however fast the tokens come.
  const lps = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 0, max_tokens: 5,
    logprobs: true, top_logprobs: 3, stream: true });
  const streamed = [];
  let chunksWithLogprobs = 0;
  for await (const chunk of lps) {
    const c = chunk.choices[0];
    if (c && c.logprobs && c.logprobs.content && c.logprobs.content.length) {
      streamed.push(...c.logprobs.content);
      chunksWithLogprobs++;
    }
  }
  check(JSON.stringify(streamed) === JSON.stringify(content), 'streamed logprobs differ: ' + JSON.stringify(streamed));
  check(chunksWithLogprobs === content.length, `logprobs of ${content.length} tokens came in ${chunksWithLogprobs} chunks, not token by token`);

  // Stop sequence: the text ends before it.
  const stopAt = out.plain.length > 3 ? out.plain.slice(2, 4) : null;
  if (stopAt && stopAt.trim()) {
    const st = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 0, max_tokens: 12, stop: [stopAt] });
    check(st.choices[0].finish_reason === 'stop' && !st.choices[0].message.content.includes(stopAt), 'stop sequence');
  }

  // Constrained output: exactly one of the labels.
  const labels = ['billing', 'technical', 'account'];
  for (const seed of [1, 2, 3]) {
    const en = await client.chat.completions.create({ model: baseName, messages: ask, temperature: 1, seed, max_tokens: 20,
      response_format: { type: 'json_schema', json_schema: { name: 'category', schema: { type: 'string', enum: labels } } } });
    check(labels.includes(en.choices[0].message.content.trim()), 'enum output ' + JSON.stringify(en.choices[0].message.content));
  }

  // The tuned model by name.
  const tuned = await client.chat.completions.create({ model: tunedName, messages: ask, temperature: 0, max_tokens: 12 });
  check(tuned.model === tunedName, 'tuned model echoed');
  out.tuned = tuned.choices[0].message.content;

  // Text completions.
  const comp = await client.completions.create({ model: baseName, prompt: 'The password reset link', max_tokens: 6, temperature: 0 });
  check(comp.object === 'text_completion' && typeof comp.choices[0].text === 'string' && comp.usage.completion_tokens > 0, 'completion');

  // Refusals name the field.
  const refusals = [
    [{ model: 'no-such-model', messages: ask }, 404, 'model'],
    [{ model: baseName, messages: ask, max_tokens: -3 }, 400, 'max_tokens'],
    [{ model: baseName, messages: ask, temperature: 'hot' }, 400, 'temperature'],
    [{ model: baseName, messages: [] }, 400, 'messages'],
    [{ model: baseName, messages: ask, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', enum: [] } } } }, 400, 'enum'],
  ];
  for (const [body, status, field] of refusals) {
    let err = null;
    try { await client.chat.completions.create(body); } catch (e) { err = e; }
    check(err && err.status === status && String(err.message).includes(field), `refusal ${field}: ${err && err.status} ${err && err.message}`);
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
