// The app's tests. Run them under llmcheck to check the traces they emit:
//   llmcheck run --config llmcheck.yaml -- npm test
const { shutdown } = require('../tracing'); // first: the instrumentation patches openai on require
const { test, before, after } = require('node:test');
const { trace } = require('@opentelemetry/api');
const assert = require('node:assert/strict');
const { RagApp } = require('../rag');
const { startFakeOpenAI } = require('../fake-openai');

let server;
let app;

before(async () => {
  server = await startFakeOpenAI();
  app = new RagApp({ baseURL: server.baseURL });
});

// Flush the spans before node --test ends this file's process: without it
// the last batch of spans is lost and llmcheck checks an incomplete run.
after(async () => {
  await shutdown();
  await server.close();
});

const cases = [
  ['How long does a refund to my card take?', 'kb-refunds'],
  ['When will my delivery ship?', 'kb-shipping'],
  ['I forgot my password and cannot sign in', 'kb-password'],
  ['How do I cancel my subscription?', 'kb-cancel'],
  ['Can I track my delivery?', 'kb-shipping'],
  ['Where is my refund money?', 'kb-refunds'],
];

// Each test is a span: test.case.name gives llmcheck diff the test's
// identity, and llmcheck.relevant_ids the ground truth of the retrieval
// metrics (retrieval.hit_rate, retrieval.mrr, …).
const tracer = trace.getTracer('rag-node-tests');

for (const [question, want] of cases) {
  test(question, () =>
    tracer.startActiveSpan('test ' + question, {
      attributes: { 'test.suite.name': 'rag-node', 'test.case.name': question, 'llmcheck.relevant_ids': [want] },
    }, async (span) => {
      try {
        const res = await app.answer(question);
        assert.ok(res.answer.length > 0);
        assert.equal(res.documents[0], want);
      } finally {
        span.end();
      }
    }));
}
