import { UnknownProviderError } from '../domain/errors';
import type { ProviderName } from '../domain/spec';
import type { EventBus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import type { Ledger } from '../ports/ledger';
import type { ModelRegistry, TuningProvider } from '../ports/provider';

/** A provider and the registry its winners are promoted to. */
export interface ProviderBinding {
  readonly provider: TuningProvider;
  readonly registry: ModelRegistry;
}

/** A binding, or a function that builds it on first use (a provider whose client is slow to load). */
export type ProviderEntry = ProviderBinding | (() => ProviderBinding);

/** The providers configured in this deployment. */
export class ProviderCatalog {
  private readonly built = new Map<ProviderName, ProviderBinding>();

  constructor(private readonly bindings: Partial<Record<ProviderName, ProviderEntry>>) {}

  get(name: ProviderName | string): ProviderBinding {
    const entry = this.bindings[name as ProviderName];
    if (!entry) throw new UnknownProviderError(name, this.names());
    if (typeof entry !== 'function') return entry;
    let binding = this.built.get(name as ProviderName);
    if (!binding) {
      binding = entry();
      this.built.set(name as ProviderName, binding);
    }
    return binding;
  }

  has(name: string): boolean {
    return this.bindings[name as ProviderName] !== undefined;
  }

  names(): ProviderName[] {
    return Object.keys(this.bindings) as ProviderName[];
  }
}

/** What every use case may need; built once by the composition root. */
export interface Dependencies {
  readonly ledger: Ledger;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly providers: ProviderCatalog;
  /** Overrides `TRIAL_SETTLE_INTERVAL_MS` (fan-out-trials), e.g. for a deployment that wants trial news sooner. */
  readonly trialSettleIntervalMs?: number;
  /** The HTTP API's base URL (TUNEWIRE_API_URL): announcements link to their job there. */
  readonly apiUrl?: string;
}
