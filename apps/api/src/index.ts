export { createServer, type ServerDeps } from './server.js';
export { DASHBOARD_PATH, redactJobData } from './dashboard.js';
