// A fake, deterministic OpenAI-compatible server for the tests: no network,
// no key. Chat completions use 20 + (prompt length / 8) prompt tokens and
// 12 completion tokens; embeddings 8 tokens. Each call takes a few ms.
const http = require('http');

function startFakeOpenAI() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const json = JSON.parse(body || '{}');
      res.setHeader('content-type', 'application/json');
      const reply = () => {
        if (req.url.endsWith('/embeddings')) {
          res.end(JSON.stringify({
            object: 'list', model: json.model,
            data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }],
            usage: { prompt_tokens: 8, total_tokens: 8 },
          }));
          return;
        }
        const prompt = (json.messages || []).map((m) => m.content).join(' ');
        const promptTokens = 20 + Math.round(prompt.length / 8);
        res.end(JSON.stringify({
          id: 'chatcmpl-fake', object: 'chat.completion', created: 1, model: json.model + '-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: 'From the help centre: ' + prompt.slice(-40) }, finish_reason: 'stop' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12 },
        }));
      };
      setTimeout(reply, 2 + (body.length % 5));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ baseURL: `http://127.0.0.1:${server.address().port}/v1`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

module.exports = { startFakeOpenAI };
