// Greedy generation in llama.cpp itself (through the node-llama-cpp binding and
// its prebuilt CPU library), as an independent check that the GGUF files Loam
// writes — a model from `loam convert`, a LoRA adapter from `loam tune sft` —
// load in llama.cpp and compute what Loam computes. Test tooling only.
//
//   node tools/llamacpp_generate.mjs MODEL.gguf [--lora ADAPTER.gguf] [--max-tokens N] < prompts.jsonl
//
// Each input line {"ids": [prompt token ids]} gives one output line
// {"ids": [generated ids], "text": "...", "eos": true|false}: greedy, until an
// end-of-generation token or N tokens (default 80).
import {getLlama} from "node-llama-cpp";
import readline from "node:readline";

const args = process.argv.slice(2);
let modelPath = null, loraPath = null, maxTokens = 80;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--lora") loraPath = args[++i];
  else if (args[i] === "--max-tokens") maxTokens = Number(args[++i]);
  else modelPath = args[i];
}
if (!modelPath) {
  console.error("usage: llamacpp_generate.mjs MODEL.gguf [--lora ADAPTER.gguf] [--max-tokens N] < prompts.jsonl");
  process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({
  contextSize: 2048,
  threads: 2,
  ...(loraPath ? {lora: {adapters: [{filePath: loraPath, scale: 1}]}} : {}),
});
const sequence = context.getSequence();

const lines = readline.createInterface({input: process.stdin});
for await (const line of lines) {
  if (!line.trim()) continue;
  const {ids} = JSON.parse(line);
  await sequence.clearHistory();
  const out = [];
  let eos = false;
  for await (const token of sequence.evaluate(ids, {temperature: 0, yieldEogToken: true})) {
    if (model.isEogToken(token)) {
      eos = true;
      break;
    }
    out.push(token);
    if (out.length >= maxTokens) break;
  }
  process.stdout.write(JSON.stringify({ids: out, text: model.detokenize(out), eos}) + "\n");
}
await context.dispose();
await model.dispose();
