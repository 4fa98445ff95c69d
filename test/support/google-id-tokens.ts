import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';

export const PUSH_AUDIENCE = 'https://status-change.example.run.app/push';
export const PUSH_SENDER = 'tunewire-push@tunewire-prod.iam.gserviceaccount.com';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Stands in for Google's token certificate endpoint (www.googleapis.com/oauth2/v1/certs: key id →
 * PEM, with a Cache-Control max-age) on loopback, with an RSA key of our own, so OAuth2Client's
 * real verifyIdToken runs against it.
 */
export class FakeGoogleCerts {
  readonly kid = 'test-key-1';
  private readonly privateKey: KeyObject;
  private readonly pem: string;
  /** How many times the certificates were fetched. */
  fetches = 0;
  /** When set, the endpoint answers this status instead of the certificates. */
  failWith: number | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    keys: { privateKey: KeyObject; publicKey: KeyObject },
  ) {
    this.privateKey = keys.privateKey;
    this.pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  static async start(): Promise<FakeGoogleCerts> {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let self: FakeGoogleCerts | undefined;
    const server = createServer((_req, res) => {
      if (!self) return void res.writeHead(503).end();
      self.fetches += 1;
      if (self.failWith) return void res.writeHead(self.failWith).end();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' }).end(JSON.stringify({ [self.kid]: self.pem }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new FakeGoogleCerts(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v1/certs`, keys);
    return self;
  }

  /** An OAuth2Client that fetches its certificates here; a fresh one has an empty cache. */
  client(): OAuth2Client {
    return new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: this.url } });
  }

  /** An OIDC token as Pub/Sub push sends it, signed RS256 with this key (or `key`). */
  token(claims: Record<string, unknown> = {}, key: KeyObject = this.privateKey): string {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: 'https://accounts.google.com', aud: PUSH_AUDIENCE, iat: now, exp: now + 3600, sub: '1234567890', email: PUSH_SENDER, email_verified: true, ...claims };
    const signed = `${b64url({ alg: 'RS256', typ: 'JWT', kid: this.kid })}.${b64url(payload)}`;
    return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key).toString('base64url')}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
