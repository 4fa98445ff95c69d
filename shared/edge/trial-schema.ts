import * as z from 'zod';
import { TRIAL_STATUSES } from '../domain/status';

/** A normalized trial as it travels in events. */
export const trialSchema = z.object({
  trialId: z.string().min(1),
  status: z.enum(TRIAL_STATUSES),
  hyperparameters: z.record(z.string(), z.string()),
  objectiveValue: z.number().optional(),
  objectiveStatus: z.enum(['pending', 'succeeded', 'failed']).optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  stoppedEarly: z.boolean(),
  failureReason: z.string().optional(),
  artifactUri: z.string().optional(),
  definitionName: z.string().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
});
