import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createRequire } from 'node:module';
import type { GoogleAuth } from 'google-auth-library';
import { CLOUD_PLATFORM_SCOPE, MlEngineClient } from './adapters/mlengine/mlengine-client';
import { MlEngineModelRegistry } from './adapters/mlengine/mlengine-model-registry';
import { MlEngineProvider } from './adapters/mlengine/mlengine-provider';
import { SageMakerModelRegistry } from './adapters/sagemaker/sagemaker-model-registry';
import { SageMakerProvider } from './adapters/sagemaker/sagemaker-provider';
import { VertexModelRegistry } from './adapters/vertex/vertex-model-registry';
import { VertexProvider } from './adapters/vertex/vertex-provider';
import type { ProviderName } from './domain/spec';
import { type ExternalAccountConfig, googleAuthFor, googleCredentialsFrom } from './google-credentials';
import type { ProviderEntry } from './use-cases/dependencies';

/**
 * Where the cloud providers are, read once from the environment. Every endpoint defaults to the
 * real service; the `TUNEWIRE_*_ENDPOINT` variables point a provider at a local fake instead
 * (`AWS_ENDPOINT_URL_SAGEMAKER` is the SDK's own). `TUNEWIRE_GOOGLE_CREDENTIALS` holds a Workload
 * Identity Federation configuration for Vertex and ML Engine; unset, Application Default Credentials.
 */
export interface ProviderSettings {
  readonly awsRegion: string;
  /** SageMaker calls per operation, throttling included (the SDK's standard retry strategy). */
  readonly awsMaxAttempts: number;
  readonly vertex: { readonly project?: string; readonly location: string; readonly endpoint?: string };
  readonly mlengine: { readonly project?: string; readonly endpoint?: string };
  /** Workload Identity Federation for both Google providers; absent, Application Default Credentials. */
  readonly googleCredentials?: ExternalAccountConfig;
}

export function providerSettingsFrom(env: NodeJS.ProcessEnv): ProviderSettings {
  const project = env.TUNEWIRE_GCP_PROJECT ?? env.GOOGLE_CLOUD_PROJECT;
  const googleCredentials = googleCredentialsFrom(env);
  return {
    awsRegion: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    awsMaxAttempts: Number(env.TUNEWIRE_AWS_MAX_ATTEMPTS ?? 8),
    vertex: {
      location: env.TUNEWIRE_VERTEX_LOCATION ?? 'us-central1',
      ...(project ? { project } : {}),
      ...(env.TUNEWIRE_VERTEX_ENDPOINT ? { endpoint: env.TUNEWIRE_VERTEX_ENDPOINT } : {}),
    },
    mlengine: {
      ...(project ? { project } : {}),
      ...(env.TUNEWIRE_MLENGINE_ENDPOINT ? { endpoint: env.TUNEWIRE_MLENGINE_ENDPOINT } : {}),
    },
    ...(googleCredentials ? { googleCredentials } : {}),
  };
}

// The Vertex client takes about a second to load: only a Vertex job pays for it.
const requireLazily = createRequire(import.meta.url);

/** The cloud providers, each built on first use. */
export function cloudProviderEntries(settings: ProviderSettings): Partial<Record<ProviderName, ProviderEntry>> {
  // built on first use: a stack that never calls ML Engine never loads google-auth-library
  let googleAuth: GoogleAuth | undefined;
  const federatedAuth = (): GoogleAuth | undefined => {
    if (settings.googleCredentials) googleAuth ??= googleAuthFor(settings.googleCredentials);
    return googleAuth;
  };
  return {
    sagemaker: () => {
      const client = new SageMakerClient({ region: settings.awsRegion, maxAttempts: settings.awsMaxAttempts });
      return { provider: new SageMakerProvider({ client }), registry: new SageMakerModelRegistry({ client }) };
    },
    vertex: () => {
      const { v1 } = requireLazily('@google-cloud/aiplatform') as typeof import('@google-cloud/aiplatform');
      const { project, location, endpoint } = settings.vertex;
      // google-gax builds its GoogleAuth from its own copy of google-auth-library (a GoogleAuth of
      // ours does not fit its type), so Vertex gets the configuration rather than our instance
      const credentials = endpoint ? undefined : settings.googleCredentials;
      const options = endpoint
        ? insecureGrpcEndpoint(endpoint)
        : { apiEndpoint: `${location}-aiplatform.googleapis.com`, ...(credentials ? { credentials, scopes: [CLOUD_PLATFORM_SCOPE] } : {}) };
      const scope = { ...(project ? { project } : {}), location };
      return {
        // a plaintext local fake takes no credentials; the real API needs them before anything is sent
        provider: new VertexProvider({ jobClient: new v1.JobServiceClient(options), ...scope, checkCredentials: !endpoint }),
        registry: new VertexModelRegistry({ modelClient: new v1.ModelServiceClient(options), ...scope }),
      };
    },
    mlengine: () => {
      const { project, endpoint } = settings.mlengine;
      // the real API gets the federated credentials, or Application Default Credentials without
      // them; a local fake gets none, unless federated credentials are set (to prove the token)
      const auth = federatedAuth() ?? (endpoint ? 'none' : undefined);
      const client = new MlEngineClient({ ...(endpoint ? { baseUrl: endpoint } : {}), ...(auth ? { auth } : {}) });
      return { provider: new MlEngineProvider({ client, ...(project ? { project } : {}) }), registry: new MlEngineModelRegistry() };
    },
  };
}

/** A plaintext gRPC endpoint (`host:port`), for a local Vertex fake. */
function insecureGrpcEndpoint(endpoint: string) {
  const grpc = requireLazily('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  const [host, port] = endpoint.split(':');
  return { apiEndpoint: host ?? '127.0.0.1', port: Number(port ?? 443), sslCreds: grpc.credentials.createInsecure() };
}
