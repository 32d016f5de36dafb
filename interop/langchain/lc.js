// Real LangChain.js (@langchain/core, @langchain/openai) with a real
// LangChain instrumentation — OpenInference's or OpenLLMetry's (Traceloop) —
// calling a fake OpenAI server in-process. Spans go out through the
// OpenTelemetry Node SDK, configured only by the OTEL_* variables llmcheck
// sets.
//
//   node lc.js openinference|traceloop [questions]
//
// Each question is one trace: a parent span "question" (with the ground
// truth llmcheck.relevant_ids) around a retriever (a BaseRetriever over
// four fixed documents, returning the top two) and a streamed ChatOpenAI
// call (stream_options include_usage). Then one more streamed chat call
// binds a tool, the model calls it and the tool runs.
//
// The fake OpenAI server is deterministic: every chat completion uses 120
// prompt tokens (100 of them cached) and 30 completion tokens; a streamed completion sends its first chunk
// after FIRST_CHUNK_MS (50 ms) and the usage in its last chunk.
const http = require('http');
const { NodeSDK } = require('@opentelemetry/sdk-node');

const which = process.argv[2];
const questions = Number(process.argv[3] || 3);
const sdk = new NodeSDK({ serviceName: 'langchain-' + which });
sdk.start();

const CallbackManagerModule = require('@langchain/core/callbacks/manager');
if (which === 'openinference') {
  const { LangChainInstrumentation } = require('@arizeai/openinference-instrumentation-langchain');
  new LangChainInstrumentation().manuallyInstrument(CallbackManagerModule);
} else if (which === 'traceloop') {
  const { LangChainInstrumentation } = require('@traceloop/instrumentation-langchain');
  new LangChainInstrumentation().manuallyInstrument({ callbackManagerModule: CallbackManagerModule });
} else {
  console.error('usage: node lc.js openinference|traceloop [questions]');
  process.exit(2);
}

const { ChatOpenAI } = require('@langchain/openai');
const { BaseRetriever } = require('@langchain/core/retrievers');
const { Document } = require('@langchain/core/documents');
const { tool } = require('@langchain/core/tools');
const { z } = require('zod');
const { trace } = require('@opentelemetry/api');

const FIRST_CHUNK_MS = 50;
const USAGE = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } };

// A toy store: each article's fixed relevance to every query; the top two
// are doc-2 (0.9), then doc-1 (0.7).
const ARTICLES = [
  { id: 'doc-1', text: 'Returns are accepted within 30 days.', score: 0.7 },
  { id: 'doc-2', text: 'Refunds take 5 days.', score: 0.9 },
  { id: 'doc-3', text: 'Shipping is free over $50.', score: 0.2 },
  { id: 'doc-4', text: 'Gift cards never expire.', score: 0.1 },
];
// The ground truth of question i: doc-2 (rank 1), doc-1 (rank 2), doc-4
// (not retrieved) — hit rate 2/3, MRR (1 + 1/2 + 0) / 3 = 0.5.
const RELEVANT = [['doc-2'], ['doc-1'], ['doc-4']];

function sse(res, chunks) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  setTimeout(() => {
    for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end('data: [DONE]\n\n');
  }, FIRST_CHUNK_MS);
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const r = JSON.parse(body || '{}');
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18' };
    const wantsTool = Array.isArray(r.tools) && r.tools.length > 0;
    const delta = wantsTool
      ? [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order":"A1"}' } }] }, finish_reason: null }]
      : [{ index: 0, delta: { role: 'assistant', content: 'Refunds ' }, finish_reason: null }];
    if (!r.stream) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Refunds take 5 days.' }, finish_reason: 'stop' }], usage: USAGE }));
      return;
    }
    const chunks = [{ ...base, choices: delta }];
    if (!wantsTool) chunks.push({ ...base, choices: [{ index: 0, delta: { content: 'take 5 days.' }, finish_reason: null }] });
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: wantsTool ? 'tool_calls' : 'stop' }] });
    chunks.push({ ...base, choices: [], usage: USAGE });
    sse(res, chunks);
  });
});

class ArticleRetriever extends BaseRetriever {
  lc_namespace = ['llmcheck', 'interop'];
  async _getRelevantDocuments(query) {
    return [...ARTICLES].sort((x, y) => y.score - x.score).slice(0, 2)
      .map((a) => new Document({ id: a.id, pageContent: a.text, metadata: { id: a.id, source: 'faq.md' } }));
  }
}

// The model's answer, streamed. (ChatOpenAI.invoke with streaming: true
// never resolves against this server under @langchain/openai 1.5.8, while
// .stream() does; the instrumentations see the same callbacks either way.)
async function collect(stream) {
  let msg;
  for await (const chunk of await stream) msg = msg ? msg.concat(chunk) : chunk;
  return msg;
}

server.listen(0, '127.0.0.1', async () => {
  const configuration = { baseURL: `http://127.0.0.1:${server.address().port}/v1` };
  const chat = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test-key', streaming: true, streamUsage: true, configuration });
  const retriever = new ArticleRetriever();
  const tracer = trace.getTracer('lc.js');
  for (let i = 0; i < questions; i++) {
    await tracer.startActiveSpan('question', { attributes: { 'llmcheck.relevant_ids': RELEVANT[i % RELEVANT.length], 'test.case.name': `q${i}` } }, async (span) => {
      const docs = await retriever.invoke('How long do refunds take?');
      await collect(chat.stream(`Answer from: ${docs.map((d) => d.pageContent).join(' ')} How long do refunds take?`));
      span.end();
    });
  }
  const lookup = tool(async ({ order }) => `order ${order}: refunded`, {
    name: 'lookup_order', description: 'Look up an order', schema: z.object({ order: z.string() }),
  });
  const msg = await collect(chat.bindTools([lookup]).stream('Where is my refund for order A1?'));
  for (const call of msg.tool_calls || []) await lookup.invoke(call);
  server.close();
  await sdk.shutdown();
  console.log(`${which}: ${questions} questions, ${(msg.tool_calls || []).length} tool call`);
});
