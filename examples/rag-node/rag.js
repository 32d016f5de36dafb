// A small retrieval-augmented-generation app: embed the question, retrieve
// help-centre articles, answer with a chat model. Both model calls go
// through the real openai client (traced by the OpenAI instrumentation);
// retrieval is traced by hand with the GenAI attributes llmcheck reads.
const { trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const OpenAI = require('openai');

const tracer = trace.getTracer('rag-node');

const ARTICLES = [
  { id: 'kb-refunds', text: 'Refunds are paid back to the original card within 5 business days.', terms: ['refund', 'money', 'card'] },
  { id: 'kb-shipping', text: 'Orders ship within 24 hours; tracking links arrive by email.', terms: ['ship', 'delivery', 'track'] },
  { id: 'kb-password', text: 'Reset your password from the sign-in page with "Forgot password".', terms: ['password', 'sign', 'login'] },
  { id: 'kb-cancel', text: 'Cancel a subscription any time from Settings → Billing.', terms: ['cancel', 'subscription', 'billing'] },
];

class RagApp {
  constructor({ baseURL, chatModel = 'gpt-4o-mini', embeddingModel = 'text-embedding-3-small', topK = 2 }) {
    this.client = new OpenAI({ apiKey: 'test-key', baseURL });
    this.chatModel = chatModel;
    this.embeddingModel = embeddingModel;
    this.topK = topK;
  }

  // answer runs one request: a root span around embed → retrieve → chat.
  async answer(question) {
    return tracer.startActiveSpan('POST /answer', { kind: SpanKind.SERVER }, async (root) => {
      try {
        await this.client.embeddings.create({ model: this.embeddingModel, input: question });
        const docs = await this.retrieve(question);
        const context = docs.map((d) => d.text).join('\n');
        const completion = await this.client.chat.completions.create({
          model: this.chatModel,
          messages: [
            { role: 'system', content: 'Answer from the context only.\n' + context },
            { role: 'user', content: question },
          ],
        });
        return { answer: completion.choices[0].message.content, documents: docs.map((d) => d.id) };
      } catch (err) {
        root.recordException(err);
        root.setStatus({ code: SpanStatusCode.ERROR, message: String(err.message || err) });
        throw err;
      } finally {
        root.end();
      }
    });
  }

  // retrieve ranks the articles by shared terms (a stand-in for a vector store).
  async retrieve(query) {
    return tracer.startActiveSpan('retrieval help-centre', { kind: SpanKind.CLIENT }, async (span) => {
      span.setAttributes({
        'gen_ai.operation.name': 'retrieval',
        'gen_ai.data_source.id': 'help-centre',
        'gen_ai.retrieval.query.text': query,
        'gen_ai.retrieval.top_k': this.topK,
      });
      const q = query.toLowerCase();
      const ranked = ARTICLES.map((a) => ({ ...a, score: a.terms.filter((t) => q.includes(t)).length / a.terms.length }))
        .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
        .slice(0, this.topK);
      span.setAttribute('gen_ai.retrieval.documents', JSON.stringify(ranked.map((d) => ({ id: d.id, score: d.score }))));
      span.end();
      return ranked;
    });
  }
}

module.exports = { RagApp, ARTICLES };
