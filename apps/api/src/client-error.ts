import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance } from 'fastify';
import { FerryError } from '@ferry/contract';
import { errorBody } from './errors.js';

/** The coded error for what Node's HTTP parser refused; its code (HPE_…) says what it found. */
function parserRefusal(err: ConnectionError): FerryError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new FerryError(
      'FERRY_ERR_HEADERS_TOO_LARGE',
      `the request's headers are larger than the API accepts (${maxHeaderSize} bytes in all): send fewer or shorter headers; a large Cookie or token is the usual cause`,
    );
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new FerryError('FERRY_ERR_REQUEST_TIMEOUT', 'the request did not arrive whole in time: send its headers and body without pausing, and retry');
  }
  return new FerryError(
    'FERRY_ERR_VALIDATION',
    `the request is not a valid HTTP/1.1 request (${err.code ?? err.message}): check the client, or the proxy in front of the API`,
  );
}

/**
 * Fastify's clientErrorHandler, for a request the HTTP parser refused before there was a request
 * or a reply (headers too large, a timeout, bytes that are not HTTP): it is answered with a Ferry
 * code like any other error, where Fastify would write its own uncoded body. As Node does, the
 * answer is written straight on the socket, which is then closed: what follows cannot be parsed.
 */
export function answerClientError(this: FastifyInstance, err: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal = parserRefusal(err);
  // Scanners and broken clients send these all day: not worth more than debug.
  this.log.debug({ err: err.message, code: err.code }, 'refused a request the HTTP parser could not read');
  if (socket.writable) {
    const body = JSON.stringify(errorBody(refusal));
    const status = refusal.httpStatus;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
