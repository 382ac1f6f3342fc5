// An outside client: the graphql-ws npm client follows a run's events over WebSocket.
// Usage: node subscribe.mjs <http base url> <access token> <run id> [afterSeq]
// Prints one JSON line per event, then {"complete": true}.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [base, token, runId, afterSeq] = process.argv.slice(2);
const client = createClient({
  url: base.replace(/^http/, 'ws') + '/graphql',
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  webSocketImpl: WebSocket,
});
const query = `subscription RunEvents($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq type message data }
}`;
try {
  const events = client.iterate({
    query,
    variables: { runId, afterSeq: afterSeq === undefined ? null : Number(afterSeq) },
  });
  for await (const result of events) {
    if (result.errors) {
      console.log(JSON.stringify({ errors: result.errors }));
      process.exitCode = 1;
      break;
    }
    console.log(JSON.stringify(result.data.runEvents));
  }
  console.log(JSON.stringify({ complete: true }));
} catch (error) {
  // A refused connection rejects with the socket's CloseEvent (code 4403 for Forbidden).
  const failure = error instanceof Error
    ? { message: error.message }
    : { code: error?.code, reason: error?.reason };
  console.log(JSON.stringify({ failure }));
  process.exitCode = 1;
} finally {
  await client.dispose();
}
