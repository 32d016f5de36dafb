// OpenTelemetry for the app and its tests: the Node SDK with the OpenAI
// instrumentation (GenAI semantic conventions). It is configured only by
// the standard OTEL_* variables, which `llmcheck run` sets; require this
// file before anything else (node --require ./tracing.js, or first in the
// test file), so the instrumentation patches openai when it is loaded.
//
// Call shutdown() before the process exits: the SDK batches spans, and the
// last batch is only sent on shutdown. node --test runs every test file in
// its own process, so each test file shuts the SDK down in an after() hook.
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME || 'rag-node',
  instrumentations: [new OpenAIInstrumentation()],
});
sdk.start();

let done;
function shutdown() {
  done = done || sdk.shutdown();
  return done;
}

module.exports = { shutdown };
