// An application with an LLM-as-judge, instrumented with the OpenTelemetry
// Node SDK and configured only by the OTEL_* variables llmcheck sets. The
// judge's verdicts are gen_ai.evaluation.result events sent through the
// Node logs SDK (@opentelemetry/sdk-logs, a BatchLogRecordProcessor and
// the OTLP log exporter of the protocol OTEL_EXPORTER_OTLP_PROTOCOL names).
//
//   node judge.js [calls]
//
// Each call is a chat span; the judge scores it while the span is active
// (relevance 0.5, 0.7, 0.9, … with a label and an explanation), so the log
// record carries the span's trace and span ids. The chat span also records
// a gen_ai.evaluation.result span event (grounded, score 1). The first
// call also gets a verdict on its whole trace (task_success, label pass,
// no score), emitted in a context with the trace id and no span id.
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const api = require('@opentelemetry/api');
const { logs } = require('@opentelemetry/api-logs');

const calls = Number(process.argv[2] || 3);
const protocol = process.env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
let LogExporter;
if (protocol === 'grpc') {
  ({ OTLPLogExporter: LogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc'));
} else if (protocol === 'http/json') {
  ({ OTLPLogExporter: LogExporter } = require('@opentelemetry/exporter-logs-otlp-http'));
} else {
  ({ OTLPLogExporter: LogExporter } = require('@opentelemetry/exporter-logs-otlp-proto'));
}
const sdk = new NodeSDK({
  serviceName: 'node-judge',
  logRecordProcessors: [new BatchLogRecordProcessor({ exporter: new LogExporter() })],
});
sdk.start();

const tracer = api.trace.getTracer('app');
const judge = logs.getLogger('judge');

async function main() {
  for (let i = 0; i < calls; i++) {
    await tracer.startActiveSpan('chat gpt-4o-mini', {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 20,
      },
    }, async (span) => {
      span.addEvent('gen_ai.evaluation.result', {
        'gen_ai.evaluation.name': 'grounded',
        'gen_ai.evaluation.score.value': 1.0,
        'gen_ai.evaluation.score.label': 'yes',
      });
      judge.emit({
        eventName: 'gen_ai.evaluation.result',
        context: api.context.active(),
        body: 'SECRET-JUDGE-PROMPT: is the answer relevant?',
        attributes: {
          'gen_ai.evaluation.name': 'relevance',
          'gen_ai.evaluation.score.value': 0.5 + 0.2 * i,
          'gen_ai.evaluation.score.label': 'relevant',
          'gen_ai.evaluation.explanation': 'SECRET-EXPLANATION: the answer quotes the policy',
        },
      });
      if (i === 0) {
        // A verdict on the whole trace: the Node SDK keeps no span context
        // without a valid span id, so this record reaches llmcheck with no
        // trace id at all (llmcheck warns and ignores it).
        const traceOnly = api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: span.spanContext().traceId,
          spanId: '0000000000000000',
          traceFlags: api.TraceFlags.SAMPLED,
        });
        judge.emit({
          eventName: 'gen_ai.evaluation.result',
          context: traceOnly,
          attributes: { 'gen_ai.evaluation.name': 'task_success', 'gen_ai.evaluation.score.label': 'pass' },
        });
      }
      span.end();
    });
  }
  await sdk.shutdown();
  console.log(`judge: ${calls} calls judged (${protocol})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
