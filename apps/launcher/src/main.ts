import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { FerryError } from '@ferry/contract';
import { createLogger, keyWebhookSecret, loadConfig, redactUrlsIn } from '@ferry/core';
import { findRedisServer, REDIS_INSTALL_HINT, type RedisServer } from './redis-server.js';
// The flags alone: the launcher does not load the API itself.
import { API_NODE_FLAGS } from '@ferry/api/node-flags';
import { WORKER_NODE_FLAGS } from '@ferry/worker';
import { apiKeys, dashboardPassword, DEV_KEY_NAME, headerKeys, webhookSecrets } from './dev-credentials.js';
import { startEmbeddedRedis } from './embedded-redis.js';
import { whenNpmExits } from './parent-watch.js';
import { startService, type Service } from './supervise.js';

function fail(message: string): never {
  process.stderr.write(`\nferry: ${message}\n`);
  process.exit(1);
}

if (existsSync('.env')) process.loadEnvFile('.env');
// People at a terminal get readable logs unless they chose a format.
if (process.env['FERRY_LOG_FORMAT'] === undefined && process.stdout.isTTY) process.env['FERRY_LOG_FORMAT'] = 'pretty';

let config;
try {
  config = loadConfig();
} catch (err) {
  fail((err as Error).message);
}
const logger = createLogger(config, 'ferry');

let redis: RedisServer | undefined;
// A cluster or sentinels are the user's Redis as much as REDIS_URL is.
if (config.redis.topology.mode === 'single' && config.redis.url === undefined) {
  if (!findRedisServer()) fail(REDIS_INSTALL_HINT);
  try {
    redis = await startEmbeddedRedis(config.dataDir, logger);
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    fail(err.message);
  }
}
const redisUrl = config.redis.url ?? redis?.url;

let credentials;
let keys;
let webhooks;
let sealing;
try {
  credentials = await dashboardPassword(config);
  keys = await apiKeys(config);
  webhooks = await webhookSecrets(config);
  sealing = await headerKeys(config);
} catch (err) {
  await redis?.stop();
  fail(err instanceof FerryError ? err.message : String(err));
}

const env = {
  ...process.env,
  ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
  FERRY_DASHBOARD_PASSWORD: credentials.password,
  FERRY_API_KEYS: keys.entries,
  FERRY_WEBHOOK_SECRETS: webhooks.secrets,
  FERRY_HEADERS_ENCRYPTION_KEYS: sealing.keys,
};
const mainOf = (pkg: string) => path.join(path.dirname(fileURLToPath(import.meta.resolve(pkg))), 'main.js');
// The services hold the private Redis's lifeline: should the launcher die, Redis stops only after they have drained.
const lifeline = redis?.lifeline;
const services: Service[] = [
  startService('api', mainOf('@ferry/api'), env, { nodeFlags: API_NODE_FLAGS, lifeline }),
  startService('worker', mainOf('@ferry/worker'), env, { nodeFlags: WORKER_NODE_FLAGS, lifeline }),
];

// The services force themselves at FERRY_SHUTDOWN_DEADLINE_MS and exit within 5 s more; past that, one is stuck.
const SERVICES_GIVEN_UP_AFTER_MS = config.worker.shutdownDeadlineMs + 10_000;

let stopping: Promise<never> | undefined;
/** API and worker first (they drain against a live Redis), Redis last. */
function stop(exitCode: number): Promise<never> {
  for (const service of services) if (service.child.exitCode === null) service.child.kill('SIGTERM');
  stopping ??= (async () => {
    const stuck = setTimeout(() => {
      for (const service of services) {
        if (service.child.exitCode !== null) continue;
        logger.error({ service: service.name }, `${service.name} did not stop in ${SERVICES_GIVEN_UP_AFTER_MS} ms; killing it`);
        service.child.kill('SIGKILL');
      }
    }, SERVICES_GIVEN_UP_AFTER_MS);
    await Promise.all(services.map((service) => service.exited));
    clearTimeout(stuck);
    await redis?.stop();
    process.exit(exitCode);
  })();
  return stopping;
}
// Each signal is passed on: the first drains the services gracefully, a second forces them.
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
whenNpmExits(() => {
  if (stopping !== undefined) return;
  logger.warn('the process that started Ferry (npm start) has exited; stopping Ferry');
  void stop(0);
});

let address: string;
try {
  const [api] = await Promise.all(services.map((service) => service.ready));
  address = String(api?.['address']);
} catch (err) {
  logger.error((err as Error).message);
  await stop(1);
  throw err;
}
void redis?.exited.then(() => {
  if (stopping === undefined) {
    logger.error('the private redis-server stopped unexpectedly; stopping Ferry');
    void stop(1);
  }
});
for (const service of services) {
  void service.exited.then((code) => {
    if (stopping === undefined) {
      logger.error({ service: service.name, code }, `${service.name} stopped unexpectedly; stopping Ferry`);
      void stop(1);
    }
  });
}

const where =
  redisUrl === undefined
    ? `a Redis ${config.redis.topology.mode}`
    : redis === undefined
      ? `${redactUrlsIn(redisUrl)} (from REDIS_URL)`
      : `${redisUrl} (private redis-server, data in ${path.join(config.dataDir, 'redis')})`;
const egressHint =
  config.egress.allowCidrs?.length || config.egress.allowHosts?.length
    ? ''
    : `Workers fetch only public addresses on ports 80 and 443 (SSRF protection). To download from this
machine or your network, set e.g. FERRY_EGRESS_ALLOW_CIDRS=127.0.0.1/32 FERRY_EGRESS_ALLOW_PORTS=8080.
`;
// Each key's callbacks are signed with a secret of its own, derived from the server's: print the one a dev receiver verifies with.
const firstSecret = webhooks.secrets.split(',')[0] ?? '';
const callbackLine =
  firstSecret === ''
    ? 'off (no FERRY_WEBHOOK_SECRETS)'
    : `${keys.devKey === undefined ? "each key's receiver verifies with its own secret: npm run webhook-secret -- <name>" : `the ${DEV_KEY_NAME} key's receiver verifies with ${keyWebhookSecret(firstSecret, DEV_KEY_NAME)}`}${webhooks.generatedIn === undefined ? '' : `  (server secret generated, kept in ${webhooks.generatedIn})`}`;
const keyLine = keys.devKey === undefined ? 'keys from FERRY_API_KEYS' : `key ${keys.devKey}  (generated, kept in ${keys.generatedIn})`;
const auth = `-H 'authorization: Bearer ${keys.devKey ?? '<your key>'}'`;
// The CLI finds the generated key in .ferry/dev-api-key and Ferry at 127.0.0.1:3000 by itself.
const cliOptions = [
  ...(address === 'http://127.0.0.1:3000' ? [] : [`--url ${address}`]),
  ...(keys.devKey !== undefined && config.dataDir === path.resolve('.ferry') ? [] : [`--api-key ${keys.devKey ?? '<your key>'}`]),
].join(' ');
process.stdout.write(`
Ferry is running.
  Web page   ${address}/  (sign in with the key below)
  API        ${address}/v1/downloads
             ${keyLine}
  API docs   ${address}/docs  (OpenAPI at ${address}/openapi.json)
  Dashboard  ${address}/admin/queues
             user ${config.dashboard.user}, password ${credentials.password}${credentials.generatedIn ? `  (generated, kept in ${credentials.generatedIn})` : ''}
  Callbacks  ${callbackLine}
  Redis      ${where}
  Files      ${config.s3 === undefined ? config.storageDir : `s3://${config.s3.bucket}/${config.s3.keyPrefix}`}

Try it:
  curl -s -X POST ${address}/v1/downloads ${auth} -H 'content-type: application/json' -d '{"url":"https://example.com/"}'
  curl -s ${address}/v1/downloads/<id> ${auth}
  npx ferry add https://example.com/ --wait${cliOptions === '' ? '' : ` ${cliOptions}`}

${egressHint}
Ctrl-C stops Ferry (a second Ctrl-C interrupts active downloads; they run again on the next start).
`);
