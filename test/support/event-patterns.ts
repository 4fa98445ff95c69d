import { expect } from 'vitest';
import { matchesEventPattern, validateEventPattern, type EventPattern } from '../../shared/adapters/bus/event-pattern';

/** One row of a pattern table: a pattern, an event, and whether EventBridge matches them. */
export interface PatternExample {
  readonly name: string;
  readonly pattern: EventPattern;
  readonly event: unknown;
  readonly matches: boolean;
}

/** Validates the pattern as PutRule would, then matches it against the event. */
export const checkExample = ({ pattern, event, matches }: PatternExample): void => {
  expect(matchesEventPattern(validateEventPattern(pattern), event)).toBe(matches);
};
