// The official SDKs through llm_exporter's proxy (run by tests/sdk/run.sh).
//
// Two fake vendors with the same prices: A is called directly, B only through
// the proxy. Every case runs once against each, in the same order, so the two
// vendors see the same requests: what each SDK returns through the proxy must
// equal what it returns directly (ids and timestamps aside), and the proxy's
// llm_tokens_total / llm_cost_usd_total{source="proxy"} must equal what B says
// it served, to the token and the nano-dollar. An SDK retry after a 429 is two
// attempts, both metered.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const { LLM_EXPORTER_BIN, FAKE_VENDOR_BIN, SOURCE_DIR, WORK_DIR } = process.env;
for (const [name, value] of Object.entries({ LLM_EXPORTER_BIN, FAKE_VENDOR_BIN, SOURCE_DIR, WORK_DIR })) {
  if (!value) throw new Error(`${name} is not set`);
}
const PRICES = path.join(SOURCE_DIR, 'pricing/fake_prices.toml');
const VENDOR_KEY = 'sk-vendor-sdk-0123456789';
const CLIENT_KEY = 'sk-client-sdk-abcdef';
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function waitFor(what, condition, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function start(name, argv, env = {}) {
  const log = fs.openSync(path.join(WORK_DIR, `${name}.log`), 'w');
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  children.push(child);
  return path.join(WORK_DIR, `${name}.log`);
}

async function fakeVendor(name) {
  const portFile = path.join(WORK_DIR, `${name}.port`);
  start(name, [FAKE_VENDOR_BIN, '--listen', '127.0.0.1:0', '--port-file', portFile, '--api-key', VENDOR_KEY,
    '--prices', PRICES]);
  const port = await waitFor(name, () => fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim());
  return `http://127.0.0.1:${port}`;
}

async function exporter(vendorUrl) {
  fs.writeFileSync(path.join(WORK_DIR, 'client_keys'), `sdk-test ${CLIENT_KEY}\n`);
  fs.writeFileSync(path.join(WORK_DIR, 'llm_exporter.toml'), `
[[vendor]]
name = "fo"
api = "openai"
base_url = "${vendorUrl}/v1"
api_key_env = "VENDOR_KEY"
price_table = "fake"

[[vendor]]
name = "fa"
api = "anthropic"
base_url = "${vendorUrl}"
api_key_env = "VENDOR_KEY"
price_table = "fake"

[pricing]
files = ["${PRICES}"]

[proxy]
client_keys_file = "client_keys"

  [[proxy.route]]
  model = "fake-gpt*"
  vendor = "fo"
  inject_key = true

  [[proxy.route]]
  model = "fake-claude*"
  vendor = "fa"
`);
  const log = start('llm_exporter', [LLM_EXPORTER_BIN, `--config.file=${WORK_DIR}/llm_exporter.toml`,
    '--web.listen-address=127.0.0.1:0', '--proxy.listen-address=127.0.0.1:0', `--state.dir=${WORK_DIR}/state`],
  { VENDOR_KEY });
  const address = (msg) => {
    const line = fs.readFileSync(log, 'utf8').split('\n').find((l) => l.includes(`msg="${msg}"`));
    return line && line.match(/address=(\S+)/)[1];
  };
  const web = await waitFor('the exporter', () => address('Listening on'));
  return { web: `http://${web}`, proxy: `http://${address('Proxy listening on')}` };
}

// What may differ between two calls of the same request: ids, times, request ids.
function normalise(value) {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (['id', 'created', '_request_id', 'request_id'].includes(k)) continue;
      out[k] = normalise(v);
    }
    return out;
  }
  return value;
}

async function collect(stream) {
  const events = [];
  for await (const event of stream) events.push(event);
  return events;
}

const direct = await fakeVendor('vendor_direct');
const proxied = await fakeVendor('vendor_proxied');
const { web, proxy } = await exporter(proxied);

const clients = {
  direct: {
    openai: new OpenAI({ apiKey: VENDOR_KEY, baseURL: `${direct}/v1` }),
    anthropic: new Anthropic({ apiKey: VENDOR_KEY, baseURL: direct }),
  },
  proxy: {
    openai: new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${proxy}/v1` }),
    anthropic: new Anthropic({ apiKey: VENDOR_KEY, baseURL: proxy }),
  },
};

const chat = (content, extra = {}) => ({
  model: 'fake-gpt', max_tokens: 8, messages: [{ role: 'user', content }], ...extra,
});
const message = (content, extra = {}) => ({
  model: 'fake-claude', max_tokens: 8, messages: [{ role: 'user', content }], ...extra,
});
const cases = {
  'openai chat': (c) => c.openai.chat.completions.create(chat('ping')),
  'openai chat, cached prompt': (c) => c.openai.chat.completions.create(chat('[cached] one two three four')),
  'openai stream without include_usage': (c) =>
    c.openai.chat.completions.create(chat('ping', { stream: true })).then(collect),
  'openai stream with include_usage': (c) =>
    c.openai.chat.completions.create(chat('[cached] ping pong', { stream: true, stream_options: { include_usage: true } }))
      .then(collect),
  'anthropic message': (c) => c.anthropic.messages.create(message('ping')),
  'anthropic message, cache read and write': (c) =>
    c.anthropic.messages.create(message('[cached][cache-write] a longer prompt for the cache')),
  'anthropic stream': (c) => c.anthropic.messages.create(message('[cache-write-1h] stream me', { stream: true })).then(collect),
  'anthropic stream helper': (c) => c.anthropic.messages.stream(message('ping')).finalMessage(),
};

let failures = 0;
for (const [name, run] of Object.entries(cases)) {
  const want = normalise(await run(clients.direct));
  const got = normalise(await run(clients.proxy));
  try {
    assert.deepEqual(got, want);
    console.log(`ok   ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}: through the proxy differs from direct\n${error.message}`);
  }
}

// The proxy lists the models it routes (not the vendor's list), in each SDK's shape.
{
  const openaiIds = (await clients.proxy.openai.models.list()).data.map((m) => m.id);
  const anthropicIds = (await clients.proxy.anthropic.models.list()).data.map((m) => m.id);
  if (JSON.stringify(openaiIds) === '["fake-claude","fake-gpt"]' && JSON.stringify(anthropicIds) === JSON.stringify(openaiIds)) {
    console.log('ok   both SDKs list the routed models');
  } else {
    failures += 1;
    console.log(`FAIL routed models: openai ${openaiIds}, anthropic ${anthropicIds}`);
  }
}

// A stream without include_usage must not show the usage chunk the proxy asked for.
{
  const chunks = await clients.proxy.openai.chat.completions.create(chat('ping', { stream: true })).then(collect);
  if (chunks.some((c) => c.usage)) {
    failures += 1;
    console.log('FAIL the proxy let its own usage chunk through');
  } else {
    console.log('ok   no extra usage chunk reaches a client that did not ask');
  }
  await clients.direct.openai.chat.completions.create(chat('ping', { stream: true })).then(collect);
}

// An SDK retry after a 429: two attempts, both metered (the first at no cost).
await fetch(`${proxied}/control/fault`, { method: 'POST', body: JSON.stringify({ fault: 'http_429', count: 1 }) });
const retried = await clients.proxy.openai.chat.completions.create(chat('retry me')).withResponse();
await clients.direct.openai.chat.completions.create(chat('retry me'));
console.log(`ok   SDK retried after a 429 (status ${retried.response.status})`);

// The books: the proxy's series against what vendor B served.
const stats = await (await fetch(`${proxied}/control/stats`)).json();
const scrape = await (await fetch(`${web}/metrics`)).text();
function sum(name, labels) {
  let total = 0;
  for (const line of scrape.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [series, value] = line.split(' ');
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) total += Number(value);
  }
  return total;
}
const served = stats.totals;
const tokens = (type) => sum('llm_tokens_total', { source: 'proxy', type });
const checks = [
  ['input tokens (uncached + cached + written)', tokens('input') + tokens('cached_input') + tokens('cache_write'), served.input_tokens],
  ['cached input tokens', tokens('cached_input'), served.cached_input_tokens],
  ['cache write tokens', tokens('cache_write'), (served.cache_write_5m_tokens ?? 0) + (served.cache_write_1h_tokens ?? 0)],
  ['output tokens', tokens('output'), served.output_tokens],
  ['cost in nano-USD', Math.round(sum('llm_cost_usd_total', { source: 'proxy' }) * 1e9), served.cost_nano_usd],
  ['requests answered 200', sum('llm_requests_total', { source: 'proxy', code: '200' }), served.requests],
  ['attempts answered 429', sum('llm_requests_total', { source: 'proxy', code: '429' }), 1],
  ['client cost in nano-USD', Math.round(sum('llm_client_cost_usd_total', { client: 'sdk-test' }) * 1e9),
    Math.round(sum('llm_cost_usd_total', { source: 'proxy', vendor: 'fo' }) * 1e9)],
];
for (const [what, got, want] of checks) {
  if (got === want) {
    console.log(`ok   ${what}: ${got}`);
  } else {
    failures += 1;
    console.log(`FAIL ${what}: proxy ${got}, vendor ${want}`);
  }
}
if (tokens('cache_write') === 0 || tokens('cached_input') === 0) {
  failures += 1;
  console.log('FAIL the cases did not exercise cache reads and writes');
}
// A clean stop: exit code 0 (under ASan, a leak or an error report makes it non-zero).
{
  const exporterProcess = children[2];
  const exited = new Promise((resolve) => exporterProcess.once('exit', (code, signal) => resolve(code ?? signal)));
  exporterProcess.kill('SIGTERM');
  const code = await exited;
  if (code === 0) {
    console.log('ok   the exporter stopped cleanly');
  } else {
    failures += 1;
    console.log(`FAIL the exporter exited with ${code}`);
  }
}
console.log(failures === 0 ? 'all SDK checks passed' : `${failures} SDK check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
