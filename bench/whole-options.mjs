// The command line of a bench whose options are all whole numbers, at least 1: one parser, so each
// bench states only its flags and defaults, and `--help` and a bad value answer the same way everywhere.
import { parseArgs } from 'node:util';

const camelCase = (flag) => flag.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());

/**
 * Parses process.argv for `bench` (its file name without .mjs) given `defaults` ({ 'in-flight': 64, … }, in
 * usage order); returns the values under camelCase names. Prints the usage on --help and exits 0; exits 2 on
 * a value that is not a whole number, at least 1.
 */
export function parseWholeOptions(bench, defaults) {
  const flags = Object.keys(defaults);
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(flags.map((flag) => [flag, { type: 'string', default: String(defaults[flag]) }])),
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node bench/${bench}.mjs ${flags.map((flag) => `[--${flag} ${defaults[flag]}]`).join(' ')}`);
    process.exit(0);
  }
  const options = {};
  for (const flag of flags) {
    const value = Number(values[flag]);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`${bench}: --${flag} must be a whole number, at least 1`);
      process.exit(2);
    }
    options[camelCase(flag)] = value;
  }
  return options;
}
