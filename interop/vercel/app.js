// The Vercel AI SDK with its documented telemetry, calling a fake
// OpenAI-compatible server in-process. Spans go out through the
// OpenTelemetry Node SDK, configured only by the OTEL_* variables llmcheck
// sets.
//
//   node app.js v6|v6-openinference|v7
//
// v6: AI SDK 6 with its built-in experimental_telemetry;
// v6-openinference: the same spans through @arizeai/openinference-vercel's
// span processor; v7: AI SDK 7 with @ai-sdk/otel (registerTelemetry).
//
// Each run makes, one after the other:
//   - generateText with a tool: two chat calls (the first answers with a
//     tool call, the second with text) and one tool execution;
//   - streamText: one streamed chat call whose first chunk comes after a
//     deliberate delay of FIRST_CHUNK_MS;
//   - embed (one value) and embedMany (two values): two embeddings calls.
// Every chat call uses 120 input tokens (100 of them cached) and 30 output
// tokens; every embeddings call 8 input tokens.
const http = require('http');
const { NodeSDK } = require('@opentelemetry/sdk-node');

const which = process.argv[2];
const FIRST_CHUNK_MS = 50;

const sdkOptions = { serviceName: 'vercel-' + which };
if (which === 'v6-openinference') {
  const { OpenInferenceSimpleSpanProcessor } = require('@arizeai/openinference-vercel');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
  sdkOptions.spanProcessors = [new OpenInferenceSimpleSpanProcessor({ exporter: new OTLPTraceExporter() })];
} else if (which !== 'v6' && which !== 'v7') {
  console.error('usage: node app.js v6|v6-openinference|v7');
  process.exit(2);
}
const sdk = new NodeSDK(sdkOptions);
sdk.start();

let ai, createOpenAI, telemetry;
if (which === 'v7') {
  ai = require('ai');
  ({ createOpenAI } = require('@ai-sdk/openai'));
  const { OpenTelemetry } = require('@ai-sdk/otel');
  ai.registerTelemetry(new OpenTelemetry());
  telemetry = { isEnabled: true, functionId: 'refunds' };
} else {
  ai = require('ai6');
  ({ createOpenAI } = require('@ai-sdk/openai6'));
  telemetry = { isEnabled: true, functionId: 'refunds' };
}
const { z } = require('zod');

const usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } };
const model = 'gpt-4o-mini-2024-07-18';

function chat(body, res) {
  const toolAnswered = (body.messages || []).some((m) => m.role === 'tool');
  if (body.stream) {
    res.setHeader('content-type', 'text/event-stream');
    const chunk = (delta, extra) => 'data: ' + JSON.stringify({
      id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model,
      choices: delta ? [{ index: 0, delta, finish_reason: null }] : [], ...extra,
    }) + '\n\n';
    res.flushHeaders();
    setTimeout(() => {
      res.write(chunk({ role: 'assistant', content: 'Refunds ' }));
      res.write(chunk({ content: 'take 5 days.' }));
      res.write('data: ' + JSON.stringify({
        id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model,
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      }) + '\n\n');
      if (body.stream_options && body.stream_options.include_usage) res.write(chunk(null, { usage }));
      res.end('data: [DONE]\n\n');
    }, FIRST_CHUNK_MS);
    return;
  }
  const message = body.tools && !toolAnswered
    ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"order":"A1"}' } }] }
    : { role: 'assistant', content: 'Refunds take 5 days.' };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model,
    choices: [{ index: 0, message, finish_reason: message.tool_calls ? 'tool_calls' : 'stop' }],
    usage,
  }));
}

function embeddings(body, res) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    object: 'list', model: 'text-embedding-3-small',
    data: inputs.map((_, i) => ({ object: 'embedding', index: i, embedding: [0.1, 0.2, 0.3] })),
    usage: { prompt_tokens: 8, total_tokens: 8 },
  }));
}

const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (d) => { data += d; });
  req.on('end', () => {
    const body = JSON.parse(data || '{}');
    if (req.url.endsWith('/embeddings')) embeddings(body, res);
    else chat(body, res);
  });
});

server.listen(0, '127.0.0.1', async () => {
  const openai = createOpenAI({ apiKey: 'test-key', baseURL: `http://127.0.0.1:${server.address().port}/v1` });
  const lookup = ai.tool({
    description: 'Look up an order',
    inputSchema: z.object({ order: z.string() }),
    execute: async ({ order }) => ({ order, days: 5 }),
  });
  await ai.generateText({
    model: openai.chat('gpt-4o-mini'), prompt: 'How long do refunds take for order A1?',
    tools: { lookup }, stopWhen: ai.stepCountIs(3), experimental_telemetry: telemetry,
  });
  const stream = ai.streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'How long do refunds take?', experimental_telemetry: telemetry });
  let text = '';
  for await (const part of stream.textStream) text += part;
  await ai.embed({ model: openai.embedding('text-embedding-3-small'), value: 'refunds', experimental_telemetry: telemetry });
  await ai.embedMany({ model: openai.embedding('text-embedding-3-small'), values: ['refunds', 'returns'], experimental_telemetry: telemetry });
  server.close();
  await sdk.shutdown();
  console.log(`${which}: streamed ${JSON.stringify(text)}`);
});
