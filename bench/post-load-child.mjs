// The load generator of bench/enqueue-path.mjs, in its own process so it does not share the API's event loop:
//   node bench/post-load-child.mjs <base url> <api key> <count> <in flight> <url prefix>
// Sends <count> POST /v1/downloads, <in flight> at once over as many kept-alive connections, each for
// `<url prefix><n>`; every answer must be 202. Prints one JSON line: { seconds }.
import { Pool } from 'undici';

const [baseUrl, apiKey, countArg, inFlightArg, urlPrefix] = process.argv.slice(2);
const count = Number(countArg);
const inFlight = Number(inFlightArg);
const pool = new Pool(baseUrl, { connections: inFlight, pipelining: 1 });
const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
let next = 0;
const lane = async () => {
  while (next < count) {
    const n = next++;
    const { statusCode, body } = await pool.request({ path: '/v1/downloads', method: 'POST', headers, body: JSON.stringify({ url: `${urlPrefix}${n}.bin` }) });
    const text = await body.text();
    if (statusCode !== 202) throw new Error(`POST /v1/downloads answered ${statusCode}: ${text.slice(0, 300)}`);
  }
};
const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
console.log(JSON.stringify({ seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
await pool.close();
