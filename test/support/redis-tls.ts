import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRedisServer, type RedisServer } from '@ferry/launcher/redis-server';

const run = promisify(execFile);

export interface TlsRedis {
  readonly server: RedisServer;
  /** The TLS port; the plain one is off. */
  readonly tlsPort: number;
  /** The PEM file of the CA that signed the server's certificate. */
  readonly caFile: string;
  stop(): Promise<void>;
}

/** A CA and a certificate for 127.0.0.1 signed by it, made with openssl in `dir`. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const file = (name: string) => path.join(dir, name);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=ferry-test-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  ]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('redis.key'), '-out', file('redis.csr')]);
  await writeFile(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('redis.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
    '-out',
    file('redis.crt'),
  ]);
  return { ca: file('ca.crt'), cert: file('redis.crt'), key: file('redis.key') };
}

/**
 * A redis-server that speaks only TLS (`--port 0 --tls-port`), with a
 * certificate from a private CA and one ACL user, `user` with `password`; the
 * default user is off, so nothing gets in without logging in.
 */
export async function startTlsRedis(user: string, password: string): Promise<TlsRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-test-tls-redis-'));
  try {
    const { ca, cert, key } = await makeCertificates(dir);
    const aclFile = path.join(dir, 'users.acl');
    await writeFile(aclFile, `user default off\nuser ${user} on >${password} ~* &* +@all\n`);
    const tlsPort = await freePort();
    const server = await startRedisServer({
      dir: path.join(dir, 'data'),
      appendonly: false,
      extraArgs: [
        '--port',
        '0',
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-ca-cert-file',
        ca,
        '--tls-auth-clients',
        'no',
        '--aclfile',
        aclFile,
      ],
    });
    return {
      server,
      tlsPort,
      caFile: ca,
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
