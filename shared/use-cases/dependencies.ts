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

/** The providers configured in this deployment. */
export class ProviderCatalog {
  constructor(private readonly bindings: Partial<Record<ProviderName, ProviderBinding>>) {}

  get(name: ProviderName | string): ProviderBinding {
    const binding = this.bindings[name as ProviderName];
    if (!binding) throw new UnknownProviderError(name, this.names());
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
}
