// The real OpenAI Agents SDK (@openai/agents) with OpenInference's
// instrumentation for it, running an agent with one tool against a fake
// OpenAI-compatible server in-process, streaming; spans go out through the
// OpenTelemetry Node SDK, configured only by the OTEL_* variables llmcheck
// sets.
//
//   node agent.js [runs] [chat|responses]
//
// chat (the default) sets the SDK to the Chat Completions API; responses
// keeps the SDK's default, the Responses API.
//
// Each run is one agent turn: a streamed model call that asks for the
// get_weather tool, the tool call, and a streamed model call that answers.
// The fake server sends its first chunk after 50 ms and usage in the last
// chunk (stream_options.include_usage): the call that asks for the tool
// uses 100 prompt tokens (40 cached) and 20 completion tokens, the answer
// 150 prompt tokens (40 cached) and 30 completion tokens.
const http = require('http');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const otel = require('@opentelemetry/api');

const runs = Number(process.argv[2] || 2);
const api = process.argv[3] || 'chat';
const sdk = new NodeSDK({ serviceName: 'agents-app' });
sdk.start();

const agents = require('@openai/agents');
const { OpenAIAgentsInstrumentation } = require('@arizeai/openinference-instrumentation-openai-agents');
new OpenAIAgentsInstrumentation({ tracerProvider: otel.trace.getTracerProvider() }).manuallyInstrument(agents);
const { z } = require('zod');
const OpenAI = require('openai').default || require('openai');

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
      const input = Array.isArray(payload.input) ? payload.input : [];
      const answered = input.some((m) => m.type === 'function_call_output');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      setTimeout(() => {
        for (const e of responsesEvents(answered)) res.write(e);
        res.end();
      }, FIRST_CHUNK_DELAY_MS);
      return;
    }
    const answered = payload.messages.some((m) => m.role === 'tool');
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

server.listen(0, '127.0.0.1', async () => {
  agents.setDefaultOpenAIClient(new OpenAI({ apiKey: 'test-key', baseURL: `http://127.0.0.1:${server.address().port}/v1` }));
  agents.setOpenAIAPI(api === 'responses' ? 'responses' : 'chat_completions');
  const getWeather = agents.tool({
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => `Sunny, 21 °C in ${city}`,
  });
  const agent = new agents.Agent({ name: 'Weather agent', instructions: 'Answer with the weather.', model: 'gpt-4o-mini', tools: [getWeather] });
  for (let i = 0; i < runs; i++) {
    const result = await agents.run(agent, 'What is the weather in Paris?', { stream: true });
    for await (const _ of result) { /* drain the stream */ }
    await result.completed;
    if (!String(result.finalOutput).includes('Sunny')) throw new Error('unexpected answer: ' + result.finalOutput);
  }
  server.close();
  await agents.getGlobalTraceProvider().forceFlush();
  await sdk.shutdown();
  console.log(`agents: ${runs} runs (${api})`);
});
