import { existsSync } from 'node:fs';
import { FerryError } from '@ferry/contract';
import { isKeyName, keyWebhookSecret, parseWebhookSecrets } from '@ferry/core';

// `npm run webhook-secret -- <name>`: the secrets one key's receiver verifies its callbacks with, from FERRY_WEBHOOK_SECRETS.
const name = process.argv[2];
if (name === undefined || !isKeyName(name)) {
  process.stderr.write('usage: npm run webhook-secret -- <API key name>   (reads FERRY_WEBHOOK_SECRETS from the environment or ./.env)\n');
  process.exit(2);
}
if (existsSync('.env')) process.loadEnvFile('.env');
let secrets: string[];
try {
  secrets = parseWebhookSecrets(process.env['FERRY_WEBHOOK_SECRETS'] ?? '');
} catch (err) {
  process.stderr.write(`FERRY_WEBHOOK_SECRETS ${err instanceof FerryError ? err.message : String(err)}\n`);
  process.exit(2);
}
if (secrets.length === 0) {
  process.stderr.write(
    'FERRY_WEBHOOK_SECRETS is not set: set it as the API and workers have it (npm start keeps a generated one in .ferry/dev-webhook-secret)\n',
  );
  process.exit(2);
}
process.stdout
  .write(`Webhook secret${secrets.length > 1 ? 's' : ''} for the callbacks of ${name} (give ${secrets.length > 1 ? 'them' : 'it'} to its receiver; ${
  secrets.length > 1
    ? 'one per FERRY_WEBHOOK_SECRETS entry, in order: any one verifies, so a receiver can move to the next before the old one is dropped'
    : "no other key's callbacks verify with it"
}):
${secrets.map((secret) => `  ${keyWebhookSecret(secret, name)}`).join('\n')}
`);
