import { ENDED_STATES } from '@ferry/contract';

/**
 * The contract's ended states as a Lua set (`ENDED[state]` is true for each), so the batch
 * scripts read them from the one list the API and the client use instead of spelling them out.
 */
export const LUA_ENDED_STATES = `local ENDED = { ${[...ENDED_STATES].map((state) => `['${state}'] = true`).join(', ')} }\n`;
