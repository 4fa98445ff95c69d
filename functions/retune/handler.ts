import * as z from 'zod';
import { EventValidationError } from '../../shared/domain/errors';
import { zodIssues } from '../../shared/domain/spec';
import { retune } from '../../shared/use-cases/retune';
import { cloudDependencies, logOutcome } from '../runtime';

/** `{ template, slot? }`: slot is the scheduler's `<aws.scheduler.scheduled-time>`; without it, the current hour. */
const scheduleInput = z.object({ template: z.string().min(1), slot: z.string().min(1).optional() });

export async function handler(event: unknown) {
  const deps = await cloudDependencies();
  const parsed = scheduleInput.safeParse(event);
  if (!parsed.success) {
    const error = new EventValidationError('retune schedule input', zodIssues(parsed.error));
    logOutcome('retune', { outcome: 'rejected', detail: error.message });
    return { outcome: 'rejected', detail: error.message };
  }
  const slot = parsed.data.slot ?? `${deps.clock.now().toISOString().slice(0, 13)}:00:00Z`;
  const outcome = await retune(deps, { template: parsed.data.template, slot });
  logOutcome('retune', outcome);
  return outcome;
}
