// What a bench counts Redis work in: calls per command, which INFO commandstats keeps since the server
// started (or since CONFIG RESETSTAT); commands that Lua scripts run are counted under their own names.

/** Calls per command name, from INFO commandstats. */
export async function commandCalls(redis) {
  const calls = new Map();
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1], Number(match[2]));
  return calls;
}
