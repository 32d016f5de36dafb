// A real Mastra agent (@mastra/core) with one tool, traced by Mastra's
// observability and exported by @mastra/otel-exporter to the OTLP endpoint
// llmcheck sets (OTEL_EXPORTER_OTLP_ENDPOINT), calling a fake
// OpenAI-compatible server in-process over the Chat Completions API with
// streaming.
//
//   node agent.mjs [runs] [chat|responses]
//
// chat (the default): Mastra's model router on the Chat Completions API.
// responses: the AI SDK's OpenAI provider (@ai-sdk/openai), whose default
// is the Responses API; Mastra then passes on the AI SDK's provider name
// "openai.responses".
//
// Each run streams one agent turn in thread "thread-<i>": a model call that
// asks for the get_weather tool (100 prompt tokens, 40 cached, 20
// completion), the tool, and a model call that answers (150 prompt, 40
// cached, 30 completion). The fake server sends its first chunk after
// 50 ms and usage in the last chunk (stream_options.include_usage).
import http from 'node:http';
import { Mastra } from '@mastra/core/mastra';
import { Agent } from '@mastra/core/agent';
import { createTool } from '@mastra/core/tools';
import { Observability } from '@mastra/observability';
import { OtelExporter } from '@mastra/otel-exporter';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';

const runs = Number(process.argv[2] || 2);
const api = process.argv[3] || 'chat';
const FIRST_CHUNK_DELAY_MS = 50;

function chunk(delta, extra) {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18',
    choices: delta ? [{ index: 0, delta, finish_reason: null }] : [], ...extra };
}

// The Responses API's stream: the same two calls as server-sent events.
function responsesEvents(answered) {
  const resp = (status, extra) => ({ id: 'resp_1', object: 'response', created_at: 1, status, model: 'gpt-4o-mini-2024-07-18', output: [], ...extra });
  const usage = answered
    ? { input_tokens: 150, input_tokens_details: { cached_tokens: 40 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 180 }
    : { input_tokens: 100, input_tokens_details: { cached_tokens: 40 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 120 };
  const item = answered
    ? { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Sunny, 21 °C.', annotations: [] }] }
    : { id: 'fc_1', type: 'function_call', status: 'completed', call_id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
  const events = [{ type: 'response.created', response: resp('in_progress') }];
  if (answered) {
    events.push(
      { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } },
      { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Sunny, ' },
      { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: '21 °C.' });
  } else {
    events.push(
      { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } },
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '{"city":"Paris"}' });
  }
  events.push(
    { type: 'response.output_item.done', output_index: 0, item },
    { type: 'response.completed', response: resp('completed', { output: [item], usage }) });
  return events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`);
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const payload = JSON.parse(body);
    if (req.url.endsWith('/responses')) {
      const answered = (payload.input || []).some((m) => m.type === 'function_call_output');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      setTimeout(() => {
        for (const e of responsesEvents(answered)) res.write(e);
        res.end();
      }, FIRST_CHUNK_DELAY_MS);
      return;
    }
    const answered = (payload.messages || []).some((m) => m.role === 'tool');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunks = answered
      ? [chunk({ role: 'assistant', content: 'Sunny, ' }), chunk({ content: '21 °C.' }),
         chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
         chunk(null, { usage: { prompt_tokens: 150, completion_tokens: 30, total_tokens: 180, prompt_tokens_details: { cached_tokens: 40 } } })]
      : [chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
         chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
         chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
         chunk(null, { usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 40 } } })];
    setTimeout(() => {
      for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
      res.end('data: [DONE]\n\n');
    }, FIRST_CHUNK_DELAY_MS);
  });
});

await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/v1`;

const endpoint = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || '').replace(/\/$/, '');
if (!endpoint) {
  console.error('OTEL_EXPORTER_OTLP_ENDPOINT is not set: run under llmcheck run');
  process.exit(2);
}
const getWeather = createTool({
  id: 'get_weather',
  description: 'The weather in a city.',
  inputSchema: z.object({ city: z.string() }),
  execute: async (input) => `Sunny, 21 °C in ${input.city ?? input.context?.city}`,
});
const agent = new Agent({
  id: 'weather-agent',
  name: 'Weather agent',
  instructions: 'Answer with the weather.',
  model: api === 'responses'
    ? createOpenAI({ baseURL: url, apiKey: 'test-key' })('gpt-4o-mini')
    : { id: 'openai/gpt-4o-mini', url, apiKey: 'test-key', api: 'chat' },
  tools: { get_weather: getWeather },
});
const mastra = new Mastra({
  agents: { weatherAgent: agent },
  observability: new Observability({
    configs: {
      otel: {
        serviceName: 'mastra-app',
        exporters: [new OtelExporter({ provider: { custom: { endpoint: endpoint + '/v1/traces', protocol: 'http/protobuf' } } })],
      },
    },
  }),
});

const a = mastra.getAgent('weatherAgent');
for (let i = 0; i < runs; i++) {
  const stream = await a.stream('What is the weather in Paris?', { maxSteps: 3, runId: `run-${i}`, tracingOptions: { metadata: { threadId: `thread-${i}` } } });
  let text = '';
  for await (const t of stream.textStream) text += t;
  if (!text.includes('Sunny')) throw new Error('unexpected answer: ' + JSON.stringify(text));
}
server.close();
await mastra.shutdown?.();
await mastra.getObservability?.()?.shutdown?.();
console.log(`mastra: ${runs} runs (${api})`);
