export { createServer, type ServerDeps } from './server.js';
export { DASHBOARD_PATH } from './dashboard.js';
export { redactJobData } from './dashboard-views.js';
