#!/usr/bin/env node
// The `ferry` command. A committed file rather than dist/main.js itself, because npm links a
// workspace's bin only when its target exists at install time, which is before the first build.
import('../dist/main.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    console.error('ferry is not built yet: run `npm run build` (or `npm start`) in the repository first.');
    process.exit(2);
  }
  throw err;
});
