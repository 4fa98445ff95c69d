import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MlEngineNotFoundError } from '../../../shared/adapters/mlengine/mlengine-client';
import { ConfigError } from '../../../shared/config';
import { googleAuthFrom, googleCredentialsFrom } from '../../../shared/google-credentials';
import { cloudProviderEntries, providerSettingsFrom } from '../../../shared/provider-bindings';
import type { ProviderBinding } from '../../../shared/use-cases/dependencies';
import { FakeMlEngine } from '../../support/fake-mlengine';

// Workload Identity Federation from a Lambda role: the function's AWS credentials sign a
// GetCallerIdentity request, STS exchanges it for a federated token, IAM credentials trades that
// for the service account's token, and ML Engine receives the last one.

const AWS_ACCESS_KEY_ID = 'ASIATESTWIFKEY0000001';
const STS_TOKEN = 'federated-sts-token';
const IMPERSONATED_TOKEN = 'impersonated-service-account-token';
const SERVICE_ACCOUNT = 'tunewire@wif-test.iam.gserviceaccount.com';
const AUDIENCE = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/providers/tunewire';

interface SeenRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: string;
}

/** A stand-in for Google STS (`/v1/token`) and IAM credentials (`…:generateAccessToken`). */
class TokenStandIn {
  readonly seen: SeenRequest[] = [];
  readonly problems: string[] = [];
  private server: Server | undefined;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const path = req.url ?? '';
        this.seen.push({ path, authorization: req.headers.authorization, body });
        const answer = path === '/v1/token' ? this.exchange(body) : path.endsWith(':generateAccessToken') ? this.impersonate(req) : undefined;
        res.writeHead(answer ? 200 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer ?? { error: 'invalid_request' }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private exchange(body: string): Record<string, string | number> | undefined {
    const form = new URLSearchParams(body);
    const problems = [
      form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:token-exchange' ? '' : `grant_type ${form.get('grant_type')}`,
      form.get('subject_token_type') === 'urn:ietf:params:aws:token-type:aws4_request' ? '' : `subject_token_type ${form.get('subject_token_type')}`,
      form.get('audience') === AUDIENCE ? '' : `audience ${form.get('audience')}`,
      ...subjectTokenProblems(form.get('subject_token')),
    ].filter(Boolean);
    this.problems.push(...problems);
    if (problems.length) return undefined;
    return { access_token: STS_TOKEN, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 };
  }

  private impersonate(req: IncomingMessage): Record<string, string> | undefined {
    if (req.headers.authorization !== `Bearer ${STS_TOKEN}`) {
      this.problems.push(`generateAccessToken bearer ${req.headers.authorization}`);
      return undefined;
    }
    return { accessToken: IMPERSONATED_TOKEN, expireTime: new Date(Date.now() + 3_600_000).toISOString() };
  }
}

/** The subject token is a URL-encoded JSON of a signed GetCallerIdentity request. */
function subjectTokenProblems(subjectToken: string | null): string[] {
  if (!subjectToken) return ['no subject_token'];
  const request = JSON.parse(decodeURIComponent(subjectToken)) as { url?: string; method?: string; headers?: { key: string; value: string }[] };
  const header = (key: string) => request.headers?.find((h) => h.key.toLowerCase() === key.toLowerCase())?.value;
  const authorization = header('Authorization') ?? '';
  return [
    request.method === 'POST' ? '' : `method ${request.method}`,
    request.url === 'https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15' ? '' : `url ${request.url}`,
    authorization.startsWith(`AWS4-HMAC-SHA256 Credential=${AWS_ACCESS_KEY_ID}/`) ? '' : `Authorization ${authorization}`,
    header('x-goog-cloud-target-resource') === AUDIENCE ? '' : 'x-goog-cloud-target-resource',
    header('x-amz-security-token') === 'test-session-token' ? '' : 'x-amz-security-token',
  ].filter(Boolean);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function credentialConfig(endpoint: string): string {
  return JSON.stringify({
    type: 'external_account',
    audience: AUDIENCE,
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    token_url: `${endpoint}/v1/token`,
    service_account_impersonation_url: `${endpoint}/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
    credential_source: {
      environment_id: 'aws1',
      // never called: the Lambda environment gives the region and the credentials
      region_url: `${endpoint}/latest/meta-data/placement/availability-zone`,
      url: `${endpoint}/latest/meta-data/iam/security-credentials`,
      regional_cred_verification_url: 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    },
  });
}

describe('googleCredentialsFrom', () => {
  it('is undefined when TUNEWIRE_GOOGLE_CREDENTIALS is unset or empty', () => {
    expect(googleCredentialsFrom({})).toBeUndefined();
    expect(googleCredentialsFrom({ TUNEWIRE_GOOGLE_CREDENTIALS: '' })).toBeUndefined();
    expect(googleAuthFrom({})).toBeUndefined();
  });

  it('refuses a service account key, naming the variable', () => {
    const key = JSON.stringify({ type: 'service_account', client_email: 'a@b.iam.gserviceaccount.com', private_key: 'k' });
    const attempt = () => googleCredentialsFrom({ TUNEWIRE_GOOGLE_CREDENTIALS: key });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/TUNEWIRE_GOOGLE_CREDENTIALS\.type: .*a long-lived key; use Workload Identity Federation/);
  });

  it('refuses text that is not JSON, naming the variable', () => {
    expect(() => googleCredentialsFrom({ TUNEWIRE_GOOGLE_CREDENTIALS: '{not json' })).toThrow(/TUNEWIRE_GOOGLE_CREDENTIALS: is not JSON/);
  });

  it('names the missing field of an incomplete configuration', () => {
    const partial = JSON.stringify({ type: 'external_account', audience: AUDIENCE, subject_token_type: 'x', credential_source: {} });
    expect(() => googleCredentialsFrom({ TUNEWIRE_GOOGLE_CREDENTIALS: partial })).toThrow(/TUNEWIRE_GOOGLE_CREDENTIALS\.token_url/);
  });
});

describe('MlEngineProvider with Workload Identity Federation', () => {
  const tokens = new TokenStandIn();
  const mlengine = new FakeMlEngine();
  let binding: ProviderBinding;

  beforeAll(async () => {
    await Promise.all([tokens.start(), mlengine.start()]);
    // google-auth-library reads the AWS credentials from process.env, as on Lambda; stubbed here
    // and restored after, so no other test sees them
    vi.stubEnv('AWS_ACCESS_KEY_ID', AWS_ACCESS_KEY_ID);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret-access-key');
    vi.stubEnv('AWS_SESSION_TOKEN', 'test-session-token');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const settings = providerSettingsFrom({
      AWS_REGION: 'eu-west-1',
      TUNEWIRE_GCP_PROJECT: 'wif-test',
      TUNEWIRE_MLENGINE_ENDPOINT: mlengine.baseUrl,
      TUNEWIRE_GOOGLE_CREDENTIALS: credentialConfig(tokens.endpoint),
    });
    const entry = cloudProviderEntries(settings).mlengine;
    if (!entry) throw new Error('no mlengine entry');
    binding = typeof entry === 'function' ? entry() : entry;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await Promise.all([tokens.stop(), mlengine.stop()]);
  });

  it('calls ML Engine with the impersonated token from a signed AWS identity', async () => {
    const ref = { provider: 'mlengine' as const, providerJobName: 'tw_wif_probe' };
    await expect(binding.provider.describe(ref)).rejects.toBeInstanceOf(MlEngineNotFoundError);

    expect(tokens.problems).toEqual([]);
    expect(tokens.seen.map((r) => r.path)).toEqual(['/v1/token', `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`]);
    const [call] = mlengine.calls();
    expect(call?.path).toBe('/projects/wif-test/jobs/tw_wif_probe');
    expect(call?.authorization).toBe(`Bearer ${IMPERSONATED_TOKEN}`);
  });

  it('reuses the token for the next call', async () => {
    const ref = { provider: 'mlengine' as const, providerJobName: 'tw_wif_probe_2' };
    await expect(binding.provider.describe(ref)).rejects.toBeInstanceOf(MlEngineNotFoundError);
    expect(tokens.seen).toHaveLength(2);
    expect(mlengine.calls().at(-1)?.authorization).toBe(`Bearer ${IMPERSONATED_TOKEN}`);
  });
});
