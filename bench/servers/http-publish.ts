/**
 * The trigger of the baseline servers: `POST /publish` with a JSON body, the
 * same HTTP round trip Herald's publishers make (Herald adds authentication,
 * validation and storage on top), and `GET /healthz`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function publishHandler(publish: (message: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/publish') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let message: unknown;
      try {
        message = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        res.writeHead(400).end();
        return;
      }
      publish(message);
      res.writeHead(202).end();
    });
  };
}

/** Prints the port once listening, for whoever runs the server by hand (the driver waits on HTTP instead). */
export function announce(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}
