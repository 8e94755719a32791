// A private nginx for the benches: its own prefix, pid file, logs and temp dirs, `daemon off`, sendfile on.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const STOP_TIMEOUT_MS = 5000;

/**
 * Starts nginx serving `wwwDir` on 127.0.0.1:`port`, with everything it writes under `prefix`.
 * Returns the child, its logs and `stop()` (graceful, then SIGKILL); the caller waits until it answers.
 */
export async function startNginxOrigin({ prefix, wwwDir, port, connections = 64 }) {
  await mkdir(path.join(prefix, 'temp'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  const errorLog = path.join(prefix, 'error.log');
  const accessLog = path.join(prefix, 'access.log');
  await writeFile(
    conf,
    `daemon off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections ${connections}; }
http {
  access_log ${accessLog};
  client_body_temp_path ${path.join(prefix, 'temp', 'client_body')};
  proxy_temp_path ${path.join(prefix, 'temp', 'proxy')};
  fastcgi_temp_path ${path.join(prefix, 'temp', 'fastcgi')};
  uwsgi_temp_path ${path.join(prefix, 'temp', 'uwsgi')};
  scgi_temp_path ${path.join(prefix, 'temp', 'scgi')};
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port};
    root ${wwwDir};
  }
}
`,
  );
  // -e: start-up errors go to our log, not to the compiled-in /var/log/nginx/error.log.
  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-e', errorLog], { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  const stopped = new Promise((resolve) => child.once('close', () => resolve((exited = true))));
  child.once('error', () => (exited = true));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGQUIT'); // graceful: finish in-flight requests, then exit
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await stopped;
    clearTimeout(timer);
  };
  return { child, errorLog, accessLog, stop, exited: () => exited };
}
