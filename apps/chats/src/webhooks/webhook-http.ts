import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * POSTs of webhook requests over node:http with keep-alive connections, reused (less CPU per request than `fetch`).
 * The agents set no cap of their own: the dispatcher's slots bound the requests, and a per-origin cap would queue
 * one endpoint's requests behind another's stuck ones on the same host. Redirects are not followed (a 3xx is a
 * failure); the answer's body is discarded unread.
 */
export class WebhookHttp {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(idleSocketsPerOrigin: number) {
    const options = { keepAlive: true, maxSockets: Infinity, maxFreeSockets: idleSocketsPerOrigin };
    this.http = new HttpAgent(options);
    this.https = new HttpsAgent(options);
  }

  /** The status the endpoint answered, or throws (`timeout` after `timeoutMs`, or the socket's error code). */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
          res.once('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.once('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
