/** Where a job runs. A module of its own so that a browser page can list them without the spec's schema. */
export const PROVIDERS = ['sagemaker', 'vertex', 'mlengine', 'local'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
