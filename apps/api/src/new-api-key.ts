import { generateApiKey, hashApiKey } from '@ferry/core';

// `npm run api-key -- <name>`: makes a key for one caller. The key goes to the caller, only its hash into config.
const name = process.argv[2];
if (name === undefined || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
  process.stderr.write('usage: npm run api-key -- <name>   (name: 1-64 letters, digits, _ . -; it identifies the caller)\n');
  process.exit(2);
}
const key = generateApiKey();
process.stdout.write(`API key for ${name} (give it to the caller; it is not stored anywhere):
  ${key}

Add this entry to FERRY_API_KEYS (comma-separated with any others):
  ${name}:${hashApiKey(key)}
`);
