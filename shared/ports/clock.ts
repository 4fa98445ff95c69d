/** Time, injectable so tests can fix it. @example const at = clock.now().toISOString(); */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
