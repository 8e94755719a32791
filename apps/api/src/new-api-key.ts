import { apiKeyEntry, generateApiKey, hashApiKey, isKeyName } from '@ferry/core';

// `npm run api-key -- <name>`: makes a key for one caller. The key goes to the caller, only its hash into config.
const name = process.argv[2];
if (name === undefined || !isKeyName(name)) {
  process.stderr.write('usage: npm run api-key -- <name>   (name: 1-64 letters, digits, _ . -; it identifies the caller)\n');
  process.exit(2);
}
const key = generateApiKey();
process.stdout.write(`API key for ${name} (give it to the caller; it is not stored anywhere):
  ${key}

Add this entry to FERRY_API_KEYS (comma-separated with any others):
  ${apiKeyEntry(name, hashApiKey(key))}
`);
