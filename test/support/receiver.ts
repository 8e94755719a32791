import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, TestOrigin } from './origin.js';

export interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly answered: number;
}

/** A callback receiver route on the fixture origin that records each delivery and answers with `statuses` in turn. */
export function receiver(origin: TestOrigin, path: string, ...statuses: number[]): { url: string; deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  const handler: Handler = async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const answered = statuses[Math.min(deliveries.length, statuses.length - 1)] ?? 200;
    deliveries.push({ headers: req.headers, body, answered });
    res.writeHead(answered).end();
  };
  return { url: origin.route(path, handler), deliveries };
}

export const asHeaders = (headers: IncomingHttpHeaders) => headers as Record<string, string | undefined>;
