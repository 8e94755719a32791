export { createServer, type ServerDeps } from './server.js';
