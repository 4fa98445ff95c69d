import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { ValidationError } from '../../domain/errors';
import { validateEventPattern, type EventPattern } from './event-pattern';

/** An EventBridge rule as `serverless.yml` declares it: which function an event pattern feeds. */
export interface BusRule {
  readonly functionName: string;
  readonly pattern: EventPattern;
  /** The bus the rule is on in AWS (`default` for AWS service events). */
  readonly eventBus: string;
}

const eventBridgeEvent = z.object({
  eventBridge: z.object({
    pattern: z.record(z.string(), z.unknown()),
    eventBus: z.unknown().optional(),
  }).passthrough(),
});

const serverlessFile = z.object({
  functions: z.record(
    z.string(),
    z.object({ events: z.array(z.record(z.string(), z.unknown())).default([]) }).passthrough(),
  ),
});

/**
 * Reads the EventBridge rules from `serverless.yml`, so the local bus routes exactly as the
 * deployment does: one source of routing. Patterns must be literal JSON (no variables).
 */
export function loadBusRules(serverlessYmlPath: string): BusRule[] {
  return busRulesFrom(readServerlessYml(serverlessYmlPath), serverlessYmlPath);
}

/** serverless.yml as data, CloudFormation short forms (`!Ref X`) read as `{ 'Fn::Ref': X }`. */
export function readServerlessYml(path: string): unknown {
  return parseYaml(readFileSync(path, 'utf8'), { customTags: cloudFormationTags });
}

export function busRulesFrom(document: unknown, source = 'serverless.yml'): BusRule[] {
  const parsed = serverlessFile.safeParse(document);
  if (!parsed.success) {
    throw new ValidationError(source, parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  const rules: BusRule[] = [];
  for (const [functionName, fn] of Object.entries(parsed.data.functions)) {
    fn.events.forEach((event, i) => {
      if (!('eventBridge' in event)) return;
      const where = `functions.${functionName}.events[${i}].eventBridge`;
      // A scheduled rule (`schedule: rate(...)` or `cron(...)`) matches no event: nothing to route.
      if (isSchedule(event['eventBridge'])) return;
      const rule = eventBridgeEvent.safeParse(event);
      if (!rule.success) throw new ValidationError(source, [{ path: `${where}.pattern`, message: 'is required (unless the rule is a schedule) and must be a mapping' }]);
      const pattern = validateEventPattern(rule.data.eventBridge.pattern);
      const bus = rule.data.eventBridge.eventBus;
      rules.push({ functionName, pattern, eventBus: typeof bus === 'string' ? bus : bus === undefined ? 'default' : 'custom' });
    });
  }
  return rules;
}

function isSchedule(rule: unknown): boolean {
  return typeof rule === 'object' && rule !== null && 'schedule' in rule && !('pattern' in rule);
}

/** CloudFormation short-form tags (!Ref, !GetAtt, !Sub ...) parse as plain values; routing ignores them. */
const cloudFormationTags = ['Ref', 'GetAtt', 'Sub', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'ImportValue', 'FindInMap', 'Base64', 'GetAZs', 'Cidr', 'And', 'Or', 'Condition'].flatMap(
  (name) =>
    (['scalar', 'seq', 'map'] as const).map((collection) => ({
      tag: `!${name}`,
      collection: collection === 'scalar' ? undefined : collection,
      resolve: (value: unknown) => ({ [`Fn::${name}`]: value }),
    })),
) as never;
