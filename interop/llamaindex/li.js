// Real LlamaIndex.TS (llamaindex, @llamaindex/openai) with OpenLLMetry's
// LlamaIndex instrumentation (@traceloop/instrumentation-llamaindex),
// calling a fake OpenAI server in-process. Spans go out through the
// OpenTelemetry Node SDK, configured only by the OTEL_* variables llmcheck
// sets.
//
//   node li.js [questions]
//
// A VectorStoreIndex over four documents (ids doc-1 … doc-4) with a fake
// embedding model (fixed vectors, no network); each question is one trace:
// a parent span "question" (with the ground truth llmcheck.relevant_ids)
// around a top-2 retrieval and a streamed chat call (stream_options
// include_usage). The fake OpenAI server is deterministic: 120 prompt
// tokens, 30 completion tokens per call; a streamed completion sends its
// first chunk after FIRST_CHUNK_MS (50 ms) and the usage in its last chunk.
const http = require('http');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { LlamaIndexInstrumentation } = require('@traceloop/instrumentation-llamaindex');

const questions = Number(process.argv[2] || 3);
const instrumentation = new LlamaIndexInstrumentation();
// Patched by hand below (manuallyInstrument), on the very module objects
// this script uses. (llamaindex itself prints "llamaindex was already
// imported" on load; the spans are complete regardless.)
const sdk = new NodeSDK({ serviceName: 'llamaindex' });
sdk.start();

const llamaindex = require('llamaindex');
const openai = require('@llamaindex/openai');
instrumentation.manuallyInstrument(llamaindex, openai);
const { BaseEmbedding, Document, VectorStoreIndex, Settings } = llamaindex;
const { trace } = require('@opentelemetry/api');

const FIRST_CHUNK_MS = 50;
const USAGE = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };

// Fixed vectors: the query is closest to doc-1, then doc-2.
const VECTORS = {
  'Returns are accepted within 30 days.': [1, 0, 0],
  'Refunds take 5 days.': [0.8, 0.6, 0],
  'Shipping is free over $50.': [0, 0, 1],
  'Gift cards never expire.': [0, 1, 0],
};
// The ground truth of question i: doc-2 (rank 2), doc-1 (rank 1), doc-3
// (not retrieved) — hit rate 2/3, MRR (1/2 + 1 + 0) / 3 = 0.5.
const RELEVANT = [['doc-2'], ['doc-1'], ['doc-3']];
class FakeEmbedding extends BaseEmbedding {
  async getTextEmbedding(text) { return VECTORS[text] || [1, 0, 0]; }
  async getTextEmbeddings(texts) { return Promise.all(texts.map((t) => this.getTextEmbedding(t))); }
  async getQueryEmbedding(query) { return [1, 0, 0]; }
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18' };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    setTimeout(() => {
      for (const c of [
        { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Refunds ' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: { content: 'take 5 days.' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: USAGE },
      ]) res.write(`data: ${JSON.stringify(c)}\n\n`);
      res.end('data: [DONE]\n\n');
    }, FIRST_CHUNK_MS);
  });
});

server.listen(0, '127.0.0.1', async () => {
  Settings.embedModel = new FakeEmbedding();
  Settings.llm = new openai.OpenAI({
    model: 'gpt-4o-mini', apiKey: 'test-key',
    baseURL: `http://127.0.0.1:${server.address().port}/v1`,
    additionalChatOptions: { stream_options: { include_usage: true } },
  });
  const docs = Object.keys(VECTORS).map((text, i) => new Document({ text, id_: `doc-${i + 1}` }));
  const index = await VectorStoreIndex.fromDocuments(docs);
  const retriever = index.asRetriever({ similarityTopK: 2 });
  const tracer = trace.getTracer('li.js');
  for (let i = 0; i < questions; i++) {
    await tracer.startActiveSpan('question', { attributes: { 'llmcheck.relevant_ids': RELEVANT[i % RELEVANT.length], 'test.case.name': `q${i}` } }, async (span) => {
      const nodes = await retriever.retrieve({ query: 'How long do refunds take?' });
      const stream = await Settings.llm.chat({
        stream: true,
        messages: [{ role: 'user', content: `Answer from: ${nodes.map((n) => n.node.text).join(' ')}` }],
      });
      for await (const _ of stream) { /* consume */ }
      span.end();
    });
  }
  server.close();
  await sdk.shutdown();
  console.log(`llamaindex: ${questions} questions`);
});
