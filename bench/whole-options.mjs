// The command line of a bench whose options are all whole numbers, at least 1: one parser, so each
// bench states only its flags and defaults, and `--help` and a bad value answer the same way everywhere.
import { parseArgs } from 'node:util';

const camelCase = (flag) => flag.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());

/**
 * Parses process.argv for `bench` (its file name without .mjs) given `defaults` ({ 'in-flight': 64, … }, in
 * usage order); returns the values under camelCase names. Prints the usage on --help and exits 0; exits 2 on
 * a value that is not a whole number, at least 1. Each of `lists` (e.g. 'worker-flag') is a string flag that
 * may be given any number of times, returned as an array.
 */
export function parseWholeOptions(bench, defaults, lists = []) {
  const flags = Object.keys(defaults);
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(flags.map((flag) => [flag, { type: 'string', default: String(defaults[flag]) }])),
      ...Object.fromEntries(lists.map((flag) => [flag, { type: 'string', multiple: true, default: [] }])),
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    const usage = [...flags.map((flag) => `[--${flag} ${defaults[flag]}]`), ...lists.map((flag) => `[--${flag} <value>]...`)];
    console.log(`usage: node bench/${bench}.mjs ${usage.join(' ')}`);
    process.exit(0);
  }
  const options = Object.fromEntries(lists.map((flag) => [camelCase(flag), values[flag]]));
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
