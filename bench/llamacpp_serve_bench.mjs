// The peer of bench/serve_concurrency.py: llama.cpp's aggregate decode
// throughput with N requests in flight at once, the way llama-server serves
// them (one context, N sequences with their own KV cells, every pending
// token of every sequence decoded in one llama_decode batch: llama.cpp's own
// continuous batching). Debian ships no llama-server, so it drives the
// prebuilt llama.cpp library of node-llama-cpp (tools/node_modules): a
// context with `sequences: N`, each sequence fed its prompt and then
// generating --tokens tokens greedily, ignoring end-of-generation, all N
// concurrently. Rounds of single (1 request) and concurrent (N requests);
// tokens/s = generated tokens / wall time of the round (prompt evaluation
// included, as in serve_concurrency.py); medians reported.
//
//   node bench/llamacpp_serve_bench.mjs MODEL.gguf [--parallel 8] [--tokens 64] [--threads 2] [--rounds 3]
// MODEL.gguf: `loam convert MODEL_DIR --dtype bf16 -o MODEL.gguf` (the same
// checkpoint the Loam side serves). Prints one JSON object.
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "tools", "package.json"));
const {getLlama} = await import(require.resolve("node-llama-cpp"));

const args = process.argv.slice(2);
const opt = {parallel: 8, tokens: 64, threads: 2, rounds: 3, model: null};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--parallel") opt.parallel = Number(args[++i]);
  else if (a === "--tokens") opt.tokens = Number(args[++i]);
  else if (a === "--threads") opt.threads = Number(args[++i]);
  else if (a === "--rounds") opt.rounds = Number(args[++i]);
  else opt.model = a;
}
if (!opt.model) {
  console.error("usage: llamacpp_serve_bench.mjs MODEL.gguf [--parallel N] [--tokens N] [--threads N] [--rounds R]");
  process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: opt.model});
const promptTokens = 64;  // room for the ~30-token prompts serve_concurrency.py sends
const context = await model.createContext({
  sequences: opt.parallel,
  contextSize: opt.parallel * (promptTokens + opt.tokens + 16),
  batchSize: 512,
  threads: opt.threads,
});
const sequences = Array.from({length: opt.parallel}, () => context.getSequence());

// The prompt of request k: the raw text serve_concurrency.py sends to
// /v1/completions in its "completion8" case (no chat template on either side).
function promptOf(k) {
  const text = `Customer ${k} asks how to change the billing address on the account.`;
  return model.tokenize(text, true).slice(0, promptTokens);
}

async function one(seq, k) {
  await seq.clearHistory();
  let n = 0;
  for await (const _ of seq.evaluate(promptOf(k), {temperature: 0, yieldEogToken: true})) {
    if (++n >= opt.tokens) break;
  }
  return n;
}

async function round(n) {
  const t0 = performance.now();
  const counts = await Promise.all(sequences.slice(0, n).map((s, k) => one(s, k)));
  const total = counts.reduce((a, b) => a + b, 0);
  return total / ((performance.now() - t0) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await round(opt.parallel);  // warm-up: maps the weights in
const single = [], parallel = [];
for (let r = 0; r < opt.rounds; r++) {
  single.push(await round(1));
  parallel.push(await round(opt.parallel));
}
console.log(JSON.stringify({
  model: opt.model, llama_cpp: llama.llamaCppRelease, threads: opt.threads, tokens: opt.tokens,
  parallel: opt.parallel, rounds: opt.rounds,
  tokens_per_s: {single: median(single), [`parallel${opt.parallel}`]: median(parallel)},
  single_samples: single, parallel_samples: parallel,
}));
await context.dispose();
await model.dispose();
