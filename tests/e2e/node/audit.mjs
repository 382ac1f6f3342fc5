// Runs the graphql-http server audit against a GraphQL-over-HTTP endpoint and prints the
// results as JSON lines. Usage: node audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url>');
  process.exit(2);
}
const results = await auditServer({ url });
let failures = 0;
let warnings = 0;
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    if (result.response) {
      line.httpStatus = result.response.status;
    }
  }
  if (result.status === 'error') failures += 1;
  if (result.status === 'warn') warnings += 1;
  console.log(JSON.stringify(line));
}
console.log(JSON.stringify({ total: results.length, failures, warnings }));
process.exit(failures + warnings === 0 ? 0 : 1);
