// Real OpenAI clients with a real LLM instrumentation — the OpenTelemetry
// GenAI one (semconv), OpenLLMetry's or OpenInference's — calling a fake
// OpenAI server in-process. Spans go out through the OpenTelemetry Node
// SDK, configured only by the OTEL_* variables llmcheck sets.
//
//   node llm.js genai|openllmetry|openinference [calls] [nested]
//
// With "nested", each of the calls is a request: a parent span "answer"
// (test.case.name q<i>, test.suite.name node) around a chat call, a tool
// span (gen_ai.operation.name execute_tool) and a second chat call, one
// after the other. The Node SDK records start times in whole
// milliseconds, so a call often seems to start before the previous one
// ended: the structural comparison must still see them in order.
const http = require('http');
const { NodeSDK } = require('@opentelemetry/sdk-node');

const which = process.argv[2];
const calls = Number(process.argv[3] || 3);
const nested = process.argv[4] === 'nested';
const instrumentations = [];
if (which === 'genai') {
  const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
  instrumentations.push(new OpenAIInstrumentation());
}
const sdk = new NodeSDK({ serviceName: 'node-' + which, instrumentations });
sdk.start();

let OpenAI;
if (which === 'genai') {
  OpenAI = require('openai'); // patched by the SDK's instrumentation on require
} else if (which === 'openinference') {
  OpenAI = require('openai');
  const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
  new OpenAIInstrumentation().manuallyInstrument(OpenAI);
} else if (which === 'openllmetry') {
  OpenAI = require('openai4'); // this OpenLLMetry release patches openai 4
  const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
  new OpenAIInstrumentation({ enrichTokens: false }).manuallyInstrument(OpenAI);
} else {
  console.error('usage: node llm.js genai|openllmetry|openinference [calls]');
  process.exit(2);
}
OpenAI = OpenAI.default || OpenAI;

// The fake OpenAI: every chat completion uses 120 prompt tokens (100 of them
// cached) and 30 completion tokens, and takes at least 3 ms, as a real model
// call takes more than the SDK's 1 ms clock tick: sequential calls shorter
// than a tick that start in the same tick cannot be ordered from the data
// (docs/statistics.md, "Structure").
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Refunds take 5 days.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } },
    }));
  }, 3));
});

server.listen(0, '127.0.0.1', async () => {
  const client = new OpenAI({ apiKey: 'test-key', baseURL: `http://127.0.0.1:${server.address().port}/v1` });
  const ask = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How long do refunds take?' }] });
  const tracer = require('@opentelemetry/api').trace.getTracer('llm.js');
  for (let i = 0; i < calls; i++) {
    if (!nested) {
      await ask();
      continue;
    }
    await tracer.startActiveSpan('answer', { attributes: { 'test.case.name': `q${i}`, 'test.suite.name': 'node' } }, async (parent) => {
      await ask();
      tracer.startActiveSpan('execute_tool lookup', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup' } }, (tool) => {
        tool.end();
      });
      await ask();
      parent.end();
    });
  }
  server.close();
  await sdk.shutdown();
  console.log(`${which}: ${calls} calls`);
});
