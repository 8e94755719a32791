import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';

const ADVICE_MODULE = 'virtual:failure-advice';
const ERRORS_DOC = new URL('../../docs/errors.md', import.meta.url);

/**
 * The "what the caller can do" column of docs/errors.md, by code, as a module: the page tells a person
 * what to do about a failure in the words the docs use, and the two cannot drift apart.
 */
function failureAdvice(): Plugin {
  return {
    name: 'ferry-failure-advice',
    resolveId: (id) => (id === ADVICE_MODULE ? `\0${ADVICE_MODULE}` : undefined),
    load(id) {
      if (id !== `\0${ADVICE_MODULE}`) return undefined;
      this.addWatchFile(ERRORS_DOC.pathname);
      const advice: Record<string, string> = {};
      for (const line of readFileSync(ERRORS_DOC, 'utf8').split('\n')) {
        const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
        const code = /^`(FERRY_ERR_[A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
        const last = cells.at(-2);
        if (code !== undefined && last !== undefined && advice[code] === undefined) advice[code] = last.replaceAll('`', '');
      }
      return `export default ${JSON.stringify(advice)};`;
    },
  };
}

// Relative asset URLs: the page works under a path prefix behind a proxy as well as at /.
export default defineConfig({
  base: './',
  plugins: [failureAdvice()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: true },
});
