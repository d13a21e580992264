// llama.cpp's own prompt and decode speed on a GGUF file, measured the way
// `loam bench` measures Loam (and llama-bench measures llama.cpp): pp = a
// batch of N prompt tokens evaluated from an empty context; tg = M tokens
// generated one at a time after a one-token prompt; medians over repetitions.
// It runs llama.cpp through the node-llama-cpp binding (its prebuilt CPU
// library, installed into tools/node_modules by scripts/fetch-test-assets.sh),
// so the peer figures in docs/PERFORMANCE.md can be taken in the same minutes
// as Loam's. The GGUF needs a vocabulary (llama.cpp refuses files without one):
// see tools/make_synthetic_tokenizer.py.
//
//   node bench/llamacpp_bench.mjs MODEL.gguf [--prompt-tokens 512] [--gen-tokens 128]
//        [--threads 2] [--repetitions 3]
// Prints one JSON object: pp_tokens_per_s, tg_tokens_per_s, their samples, llama.cpp release.
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "tools", "package.json"));
const {getLlama} = await import(require.resolve("node-llama-cpp"));

const args = process.argv.slice(2);
const opt = {prompt: 512, gen: 128, threads: 2, reps: 3, model: null};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--prompt-tokens") opt.prompt = Number(args[++i]);
  else if (a === "--gen-tokens") opt.gen = Number(args[++i]);
  else if (a === "--threads") opt.threads = Number(args[++i]);
  else if (a === "--repetitions") opt.reps = Number(args[++i]);
  else opt.model = a;
}
if (!opt.model) {
  console.error("usage: llamacpp_bench.mjs MODEL.gguf [--prompt-tokens N] [--gen-tokens N] [--threads N] [--repetitions R]");
  process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: opt.model});
const context = await model.createContext({
  contextSize: Math.max(1024, opt.prompt + opt.gen + 16),
  batchSize: Math.max(opt.prompt, 1),
  threads: opt.threads,
});
const sequence = context.getSequence();
const vocab = 32000;  // token ids below any benchmark vocabulary
const token = (i) => 100 + ((i * 7919) % (vocab - 200));

async function pp() {
  await sequence.clearHistory();
  const ids = Array.from({length: opt.prompt}, (_, i) => token(i));
  const t0 = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(ids);
  return opt.prompt / ((performance.now() - t0) / 1000);
}

async function tg() {
  await sequence.clearHistory();
  let n = 0;
  const t0 = performance.now();
  for await (const _ of sequence.evaluate([token(0)], {temperature: 0, yieldEogToken: true})) {
    if (++n >= opt.gen) break;
  }
  return n / ((performance.now() - t0) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await pp();  // warm-up: maps the weights in
const ppSamples = [], tgSamples = [];
for (let r = 0; r < opt.reps; r++) ppSamples.push(await pp());
for (let r = 0; r < opt.reps; r++) tgSamples.push(await tg());
console.log(JSON.stringify({
  model: opt.model, llama_cpp: llama.llamaCppRelease, threads: opt.threads,
  prompt_tokens: opt.prompt, gen_tokens: opt.gen,
  pp_tokens_per_s: median(ppSamples), tg_tokens_per_s: median(tgSamples),
  pp_samples: ppSamples, tg_samples: tgSamples,
}));
await context.dispose();
await model.dispose();
