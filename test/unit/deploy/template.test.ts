import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { TTL_ATTRIBUTE, tableDefinition } from '../../../shared/adapters/dynamodb/table';
import { parseSageMakerTrialSpec, sageMakerSpecIssues } from '../../../shared/adapters/sagemaker/sagemaker-spec';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import { parseTemplateDocument } from '../../../shared/domain/template';

/**
 * The CloudFormation `osls package` generates, checked for what the deployment promises. The
 * packaging runs once (offline, ~10 s) into a temporary folder; set TUNEWIRE_PACKAGE_DIR to a
 * folder an earlier `npx osls package --package <dir>` filled to check that instead.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');
const OSLS = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
const ONE_MB = 1_000_000;
const EXAMPLES = join(ROOT, 'examples');
/** The account id the examples write where the user's goes. */
const EXAMPLE_ACCOUNT = '123456789012';
/** The longest AWS region name (ap-southeast-3, ap-northeast-1...): what a region-carrying name must fit with. */
const LONGEST_REGION = 'ap-southeast-3';
/** What an index ARN takes: only reads across items. */
const INDEX_ACTIONS = ['dynamodb:Query', 'dynamodb:Scan'];

/**
 * What each function may do, besides writing its own logs and its own dead letters. A new
 * function gets an entry here: the list is the review of its role.
 */
const LEDGER = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** The ledger's queries (trials, history, promotions; byProviderJob, byActive; subscriptions, pending deliveries). */
const LEDGER_QUERY = ['dynamodb:Query'];
/** Functions that read by key only: no Query anywhere in their code paths. */
const NO_QUERY = ['inbound-webhook', 'retune', 'trigger'];
/** submitJob at SageMaker: create (tagged), adopt (describe, read the tag back), pass the training role. */
const CREATE_TUNING_JOB = ['iam:PassRole', 'sagemaker:AddTags', 'sagemaker:CreateHyperParameterTuningJob', 'sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:ListTags'];
const EXPECTED_ACTIONS: Record<string, string[]> = {
  submit: [
    ...LEDGER,
    ...LEDGER_QUERY,
    ...CREATE_TUNING_JOB,
    'events:PutEvents',
    'sagemaker:StopHyperParameterTuningJob',
    // templates (list: Scan; delete: BatchWriteItem) and subscriptions (delete: a transaction of Deletes)
    'dynamodb:BatchWriteItem',
    'dynamodb:DeleteItem',
    'dynamodb:Scan',
    // subscription and template webhook secrets: sealed when made or rotated, opened when read
    'kms:Decrypt',
    'kms:GenerateDataKey',
  ],
  'status-change': [...LEDGER, ...LEDGER_QUERY, 'events:PutEvents', 'sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:ListTrainingJobsForHyperParameterTuningJob'],
  'trial-fan-out': [...LEDGER, ...LEDGER_QUERY, 'events:PutEvents', 'sagemaker:ListTrainingJobsForHyperParameterTuningJob'],
  // UpdateItem stays: setBestTrial, and the announcement claim (resume, release, complete) it publishes through
  'promote-best': [
    ...LEDGER,
    ...LEDGER_QUERY,
    'events:PutEvents',
    'sagemaker:CreateModelPackage',
    'sagemaker:CreateModelPackageGroup',
    // provider.bestTrial: the training job SageMaker names best (DescribeHyperParameterTuningJob)
    'sagemaker:DescribeHyperParameterTuningJob',
    'sagemaker:DescribeModelPackageGroup',
    'sagemaker:DescribeTrainingJob',
  ],
  // subscriptions (Query), the job's spec notify URLs (GetItem), dead letters (Put), disabling (Update),
  // pending deliveries (Put, Delete); sealed secrets (Decrypt), and sealing old plain-text ones on read (GenerateDataKey);
  // its retry queue (send, and consume)
  notify: [...LEDGER, ...LEDGER_QUERY, 'dynamodb:DeleteItem', 'kms:Decrypt', 'kms:GenerateDataKey', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage'],
  // matching templates is a scan for their HEAD items; neither opens a template's sealed webhook secret
  trigger: [...LEDGER, ...CREATE_TUNING_JOB, 'events:PutEvents', 'dynamodb:Scan'],
  retune: [...LEDGER, ...CREATE_TUNING_JOB, 'events:PutEvents'],
  reconcile: [...LEDGER, ...LEDGER_QUERY, 'events:PutEvents', 'sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:ListTrainingJobsForHyperParameterTuningJob'],
  'inbound-webhook': [...LEDGER, ...CREATE_TUNING_JOB, 'events:PutEvents', 'kms:Decrypt'],
};
const FUNCTIONS = ['inbound-webhook', 'notify', 'promote-best', 'reconcile', 'retune', 'status-change', 'submit', 'trial-fan-out', 'trigger'];
/** Every function writes its own logs; one invoked asynchronously also sends its own dead letters. */
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const DEAD_LETTER_ACTIONS = ['sqs:SendMessage'];
const SUBMIT_ROUTES = [
  'DELETE /subscriptions/{id}',
  'DELETE /templates/{name}',
  'GET /jobs',
  'GET /jobs/{jobId}',
  'GET /jobs/{jobId}/history',
  'GET /jobs/{jobId}/spec',
  'GET /jobs/{jobId}/trials',
  'GET /jobs/{jobId}/trials/{trialId}/logs',
  'GET /models/{model}',
  'GET /models/{model}/champion',
  'GET /subscriptions',
  'GET /templates',
  'GET /templates/{name}',
  'POST /jobs',
  'POST /jobs/{jobId}/stop',
  'POST /subscriptions',
  'POST /subscriptions/{id}/rotate',
  'PUT /templates/{name}',
];

// -- the template's shapes, as far as the checks read them ---------------------------------------

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, Json>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
  readonly Principal?: Json;
  readonly Condition?: Record<string, Record<string, Json>>;
}
interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value: Json }>;
}
interface LambdaFunction {
  readonly logicalId: string;
  /** The function's key in serverless.yml, e.g. `trial-fan-out`. */
  readonly key: string;
  readonly name: string;
  readonly resource: Resource;
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The logical id a `Ref`, `Fn::GetAtt` (either form) or `Fn::Sub: ${X.Arn}...` points at. */
function referencedId(value: Json): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, Json>;
  if (typeof v['Ref'] === 'string') return v['Ref'];
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

function statementsOf(role: Resource): Statement[] {
  const policies = asList(role.Properties['Policies'] as { PolicyDocument: { Statement: Statement[] } }[] | undefined);
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

function allPolicyStatements(template: Template): { where: string; statement: Statement }[] {
  const out: { where: string; statement: Statement }[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::IAM::Role') for (const s of statementsOf(r)) out.push({ where: id, statement: s });
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::SQS::QueuePolicy') {
      for (const s of (r.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement) out.push({ where: id, statement: s });
    }
  }
  return out;
}

/** File names in a zip, from its central directory (no unzip tool needed). */
function zipEntries(file: string): string[] {
  const buf = readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file} is not a zip`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory entry`);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    names.push(buf.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

// -- packaging, once ------------------------------------------------------------------------------

let dir: string;
let ownDir = false;
let template: Template;
let functions: LambdaFunction[];

beforeAll(async () => {
  const given = process.env.TUNEWIRE_PACKAGE_DIR;
  if (given) {
    dir = given;
  } else {
    dir = mkdtempSync(join(tmpdir(), 'tunewire-package-'));
    ownDir = true;
    await promisify(execFile)(process.execPath, [OSLS, 'package', '--stage', 'dev', '--region', 'us-east-1', '--package', dir], {
      cwd: ROOT,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  functions = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const name = resource.Properties['FunctionName'] as string;
      return { logicalId, name, key: name.replace(/^tunewire-dev-/, ''), resource };
    });
}, 240_000);

afterAll(() => {
  if (ownDir) rmSync(dir, { recursive: true, force: true });
});

const resource = (id: string | undefined): Resource | undefined => (id ? template.Resources[id] : undefined);
const roleOf = (fn: LambdaFunction): [string, Resource] => {
  const id = referencedId(fn.resource.Properties['Role']);
  const role = resource(id);
  if (!id || !role) throw new Error(`${fn.key}: its Role does not point at a resource of this stack`);
  return [id, role];
};

/** Functions some AWS service invokes asynchronously (EventBridge, schedules, S3, SNS...), i.e. not only API Gateway. */
function asyncInvoked(fn: LambdaFunction): boolean {
  return Object.values(template.Resources).some(
    (r) => r.Type === 'AWS::Lambda::Permission' && referencedId(r.Properties['FunctionName']) === fn.logicalId && r.Properties['Principal'] !== 'apigateway.amazonaws.com',
  );
}

/** The data bucket's prefix, as the S3 trigger rule matches it (`<prefix>-<account id>`). */
function dataBucketPrefix(): string {
  const pattern = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Events::Rule')
    .map((r) => r.Properties['EventPattern'] as { source?: string[]; detail?: { bucket?: { name?: { prefix?: string }[] } } } | undefined)
    .find((p) => p?.source?.includes('aws.s3'));
  const prefix = pattern?.detail?.bucket?.name?.[0]?.prefix;
  if (!prefix?.endsWith('-')) throw new Error('the S3 trigger rule matches no `<prefix>-` bucket name');
  return prefix.slice(0, -1);
}

interface ExampleSpec {
  readonly file: string;
  readonly spec: TuningSpec;
}
interface ExampleTemplate extends ExampleSpec {
  readonly triggers: { readonly s3Prefix?: string };
}

const exampleFiles = (name: string): string[] =>
  readdirSync(EXAMPLES)
    .filter((d) => existsSync(join(EXAMPLES, d, name)))
    .map((d) => `examples/${d}/${name}`);

function exampleTemplates(): ExampleTemplate[] {
  return exampleFiles('template.yaml').map((file) => {
    const { spec, settings } = parseTemplateDocument(parseYaml(readFileSync(join(ROOT, file), 'utf8')) as unknown, file);
    return { file, spec, triggers: settings.triggers };
  });
}

/** Every example spec, the ones inside templates too. */
function exampleSpecs(): ExampleSpec[] {
  const specs = exampleFiles('spec.yaml').map((file) => ({ file, spec: parseSpec(parseYaml(readFileSync(join(ROOT, file), 'utf8')) as unknown, file) }));
  return [...specs, ...exampleTemplates().map(({ file, spec }) => ({ file, spec }))];
}

/** Whether a policy Resource names one of the table's indexes (`${Table.Arn}/index/...`). */
const isIndexArn = (r: Json): boolean => JSON.stringify(r).includes('/index/');

// -- the checks -----------------------------------------------------------------------------------

describe('the packaged CloudFormation template', () => {
  it('has every function on nodejs22.x, one bundle each, each zip under 1 MB with its source map', () => {
    expect(functions.map((f) => f.key).sort()).toEqual(FUNCTIONS);
    const zips = readdirSync(dir).filter((f) => f.endsWith('.zip'));
    for (const fn of functions) {
      expect(fn.resource.Properties['Runtime'], fn.key).toBe('nodejs22.x');
      const zip = join(dir, `${fn.key}.zip`);
      expect(existsSync(zip), `${fn.key}.zip`).toBe(true);
      expect(statSync(zip).size, `${fn.key}.zip size`).toBeLessThan(ONE_MB);
      const handlerFile = (fn.resource.Properties['Handler'] as string).replace(/\.[^.]+$/, '.mjs');
      expect(zipEntries(zip).sort(), `${fn.key}.zip`).toEqual([handlerFile, `${handlerFile}.map`]);
    }
    expect(zips.sort()).toEqual(functions.map((f) => `${f.key}.zip`).sort());
  });

  it('gives every function its own role and no shared execution role', () => {
    expect(template.Resources['IamRoleLambdaExecution']).toBeUndefined();
    const roles = functions.map((fn) => roleOf(fn)[0]);
    expect(new Set(roles).size).toBe(functions.length);
    for (const fn of functions) expect(roleOf(fn)[1].Type, fn.key).toBe('AWS::IAM::Role');
  });

  it('lets each function do only what its use case calls', () => {
    for (const fn of functions) {
      const expected = EXPECTED_ACTIONS[fn.key];
      expect(expected, `add ${fn.key}'s actions to EXPECTED_ACTIONS in this test`).toBeDefined();
      const granted = new Set(statementsOf(roleOf(fn)[1]).flatMap(actionsOf));
      const own = [...LOG_ACTIONS, ...(asyncInvoked(fn) ? DEAD_LETTER_ACTIONS : [])];
      expect([...granted].sort(), fn.key).toEqual([...new Set([...(expected ?? []), ...own])].sort());
    }
  });

  it('grants Query only where the code queries: not to trigger, retune or inbound-webhook', () => {
    for (const key of NO_QUERY) {
      const fn = functions.find((f) => f.key === key);
      expect(fn, key).toBeDefined();
      const granted = statementsOf(roleOf(fn as LambdaFunction)[1]).flatMap(actionsOf);
      expect(granted, key).not.toContain('dynamodb:Query');
    }
  });

  it('grants no item action on an index: only Query and Scan', () => {
    const onIndexes = allPolicyStatements(template).filter(({ statement }) => asList(statement.Resource).some(isIndexArn));
    expect(onIndexes.length).toBeGreaterThan(0);
    for (const { where, statement } of onIndexes) {
      for (const action of actionsOf(statement)) expect(INDEX_ACTIONS, `${where}: ${action} on ${JSON.stringify(statement.Resource)}`).toContain(action);
    }
  });

  it('names IAM roles per stage and region, or lets CloudFormation name them, within 64 characters', () => {
    const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    const named = roles.filter(([, r]) => r.Properties['RoleName'] !== undefined);
    // only the training role has a name (the examples' roleArn); the function roles are generated
    expect(named.map(([id]) => id)).toEqual(['TrainingRole']);
    for (const [id, role] of named) {
      const name = role.Properties['RoleName'];
      expect(typeof name, id).toBe('string');
      expect(name, id).toBe('tunewire-dev-us-east-1-training');
      expect(String(name).replace('us-east-1', LONGEST_REGION).length, `${id} in ${LONGEST_REGION}`).toBeLessThanOrEqual(64);
    }
    // the source, so another stage or region resolves to another name
    const roleNames = readFileSync(join(ROOT, 'serverless.yml'), 'utf8')
      .split('\n')
      .filter((line) => /^\s*RoleName:/.test(line));
    expect(roleNames.length).toBe(named.length);
    for (const line of roleNames) {
      expect(line).toContain('${sls:stage}');
      expect(line).toMatch(/\$\{self:provider\.region\}|\$\{aws:region\}|AWS::Region/);
    }
  });

  it('keeps the ledger, and the key its secrets are sealed with, when the stack is removed or the resource replaced', () => {
    const kept = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::KMS::Key');
    expect(kept.map(([id]) => id).sort()).toEqual(['LedgerTable', 'WebhookSecretsKey']);
    for (const [id, r] of kept) {
      expect(r.DeletionPolicy, id).toBe('Retain');
      expect(r.UpdateReplacePolicy, id).toBe('Retain');
    }
  });

  it('names no wildcard action anywhere', () => {
    for (const { where, statement } of allPolicyStatements(template)) {
      for (const action of actionsOf(statement)) expect(action, `${where}: ${action}`).not.toContain('*');
    }
  });

  it('passes roles only with iam:PassedToService, and only named roles', () => {
    const passRole = allPolicyStatements(template).filter(({ statement }) => actionsOf(statement).some((a) => a.toLowerCase() === 'iam:passrole'));
    expect(passRole.length).toBeGreaterThan(0);
    for (const { where, statement } of passRole) {
      expect(actionsOf(statement), where).toEqual(['iam:PassRole']);
      expect(statement.Condition?.['StringEquals']?.['iam:PassedToService'], where).toBe('sagemaker.amazonaws.com');
      for (const r of asList(statement.Resource)) expect(resource(referencedId(r))?.Type, `${where}: PassRole on ${JSON.stringify(r)}`).toBe('AWS::IAM::Role');
    }
  });

  it('lets each function write only its own log group, which keeps its logs for a set time', () => {
    for (const fn of functions) {
      const logs = statementsOf(roleOf(fn)[1]).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logs.length, fn.key).toBe(1);
      expect(JSON.stringify(logs[0]?.Resource), fn.key).toContain(`:log-group:/aws/lambda/${fn.name}:*`);
      const group = Object.values(template.Resources).find((r) => r.Type === 'AWS::Logs::LogGroup' && r.Properties['LogGroupName'] === `/aws/lambda/${fn.name}`);
      expect(group, `${fn.key} log group`).toBeDefined();
    }
    const groups = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    for (const [id, group] of groups) expect(group.Properties['RetentionInDays'], id).toBeTypeOf('number');
  });

  it('retries every EventBridge target and dead-letters it to an SQS queue EventBridge may write to', () => {
    const rules = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule');
    expect(rules.length).toBeGreaterThan(0);
    for (const [id, rule] of rules) {
      const ruleName = rule.Properties['Name'] as string;
      for (const target of rule.Properties['Targets'] as Record<string, Json>[]) {
        const retry = target['RetryPolicy'] as Record<string, number> | undefined;
        expect(retry?.['MaximumRetryAttempts'], `${id} MaximumRetryAttempts`).toBeTypeOf('number');
        expect(retry?.['MaximumEventAgeInSeconds'], `${id} MaximumEventAgeInSeconds`).toBeTypeOf('number');
        const queueId = referencedId((target['DeadLetterConfig'] as { Arn?: Json } | undefined)?.Arn);
        expect(resource(queueId)?.Type, `${id} DeadLetterConfig`).toBe('AWS::SQS::Queue');
        const allowed = allPolicyStatements(template).some(
          ({ statement: s }) =>
            JSON.stringify(s.Principal ?? {}).includes('events.amazonaws.com') &&
            actionsOf(s).includes('sqs:SendMessage') &&
            referencedId(s.Resource) === queueId &&
            ruleArnPatternMatches(s.Condition?.['ArnLike']?.['aws:SourceArn'], ruleName),
        );
        expect(allowed, `${id}: a queue policy lets rule ${ruleName} send to ${queueId}`).toBe(true);
      }
    }
  });

  it('sends every asynchronously invoked function’s failures to its SQS dead-letter queue after bounded retries', () => {
    const invoked = functions.filter(asyncInvoked);
    expect(invoked.length).toBeGreaterThan(0);
    for (const fn of invoked) {
      const config = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && referencedId(r.Properties['FunctionName']) === fn.logicalId);
      expect(config, `${fn.key} EventInvokeConfig`).toBeDefined();
      expect(config?.Properties['MaximumRetryAttempts'], fn.key).toBeTypeOf('number');
      expect(config?.Properties['MaximumEventAgeInSeconds'], fn.key).toBeTypeOf('number');
      const destination = (config?.Properties['DestinationConfig'] as { OnFailure?: { Destination?: Json } } | undefined)?.OnFailure?.Destination;
      const queueId = referencedId(destination);
      expect(resource(queueId)?.Type, `${fn.key} OnFailure`).toBe('AWS::SQS::Queue');
      // Lambda sends to the destination as the function's role
      const sends = statementsOf(roleOf(fn)[1]).some((s) => actionsOf(s).includes('sqs:SendMessage') && referencedId(s.Resource) === queueId);
      expect(sends, `${fn.key}'s role may send to ${queueId}`).toBe(true);
    }
  });

  it('keeps dead letters for 14 days, encrypted', () => {
    for (const [id, queue] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue')) {
      expect(queue.Properties['MessageRetentionPeriod'], id).toBe(1_209_600);
      expect(queue.Properties['SqsManagedSseEnabled'], id).toBe(true);
    }
  });

  it('creates the ledger on demand, with both GSIs, TTL and point-in-time recovery, as the code defines it', () => {
    const tables = Object.values(template.Resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const props = tables[0]?.Properties ?? {};
    const { TableName: _name, ...expected } = tableDefinition('ledger');
    expect(props['BillingMode']).toBe('PAY_PER_REQUEST');
    expect({
      BillingMode: props['BillingMode'],
      AttributeDefinitions: props['AttributeDefinitions'],
      KeySchema: props['KeySchema'],
      GlobalSecondaryIndexes: props['GlobalSecondaryIndexes'],
    }).toEqual(expected);
    expect((props['GlobalSecondaryIndexes'] as { IndexName: string }[]).map((g) => g.IndexName).sort()).toEqual(['byActive', 'byProviderJob']);
    expect(props['TimeToLiveSpecification']).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
    expect(props['PointInTimeRecoverySpecification']).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('routes the HTTP API to submit behind IAM auth, and only the signed inbound webhooks to inbound-webhook without it', () => {
    const routes = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const integrationOf = (route: Resource): string => JSON.stringify(route.Properties['Target']);
    const submitIntegration = 'HttpApiIntegrationSubmit';
    const submitRoutes = routes.filter((r) => integrationOf(r).includes(`"${submitIntegration}"`));
    expect(submitRoutes.map((r) => r.Properties['RouteKey']).sort()).toEqual(SUBMIT_ROUTES);
    for (const route of submitRoutes) {
      expect(route.Properties['AuthorizationType'], String(route.Properties['RouteKey'])).toBe('AWS_IAM');
      expect(route.Properties['AuthorizerId'], String(route.Properties['RouteKey'])).toBeUndefined();
    }
    const others = routes.filter((r) => !submitRoutes.includes(r));
    expect(others.map((r) => r.Properties['RouteKey'])).toEqual(['POST /hooks/{template}']);
    const hooks = others[0] as Resource;
    expect(integrationOf(hooks)).toContain('"HttpApiIntegrationInboundDashwebhook"');
    // signature-authenticated by the handler: no IAM, no authorizer
    expect(hooks.Properties['AuthorizationType'] ?? 'NONE').toBe('NONE');
    expect(hooks.Properties['AuthorizerId']).toBeUndefined();
  });

  it('runs reconcile every 15 minutes and the example retune weekly, with the scheduled time as its slot', () => {
    const schedules = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties['ScheduleExpression'] !== undefined)
      .map((r) => {
        const [target] = r.Properties['Targets'] as Record<string, Json>[];
        return { schedule: r.Properties['ScheduleExpression'], fn: referencedId(target?.['Arn']), target };
      });
    const fnId = (key: string) => functions.find((f) => f.key === key)?.logicalId;
    expect(schedules.map((s) => [s.fn, s.schedule]).sort()).toEqual(
      [
        [fnId('reconcile'), 'rate(15 minutes)'],
        [fnId('retune'), 'cron(0 3 ? * MON *)'],
      ].sort(),
    );
    const retune = schedules.find((s) => s.fn === fnId('retune'));
    const transformer = retune?.target?.['InputTransformer'] as { InputPathsMap: Record<string, string>; InputTemplate: string };
    expect(transformer.InputPathsMap).toEqual({ time: '$.time' });
    // what EventBridge sends: the placeholder is replaced by the quoted time
    const input = JSON.parse(transformer.InputTemplate.replace('<time>', JSON.stringify('2026-01-05T03:00:00Z'))) as unknown;
    expect(input).toEqual({ template: 'churn-xgb', slot: '2026-01-05T03:00:00Z' });
  });

  it('retunes an example template the deployed stack can run, with the role and bucket it creates', () => {
    const retune = functions.find((f) => f.key === 'retune');
    const inputs = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties['ScheduleExpression'] !== undefined)
      .flatMap((r) => r.Properties['Targets'] as Record<string, Json>[])
      .filter((t) => referencedId(t['Arn']) === retune?.logicalId)
      .map((t) => JSON.parse((t['InputTransformer'] as { InputTemplate: string }).InputTemplate.replace('<time>', '"t"')) as { template: string });
    expect(inputs.length).toBeGreaterThan(0);
    for (const { template: name } of inputs) {
      // a template is put under a name; the examples name theirs after their spec
      const examples = exampleTemplates().filter((e) => e.spec.name === name);
      expect(examples.map((e) => e.file), `an examples/*/template.yaml for ${name}`).toHaveLength(1);
      const { spec } = examples[0] as ExampleTemplate;
      // the stack's functions run SageMaker jobs; a local template runs only on a local stack
      expect(spec.provider, name).not.toBe('local');
      expect(spec.provider, name).toBe('sagemaker');
      expect(sageMakerSpecIssues(spec), name).toEqual([]);
    }
  });

  it('has the SageMaker examples name the training role and the data bucket this stack creates and expects', () => {
    const roleName = resource('TrainingRole')?.Properties['RoleName'];
    const bucketPrefix = dataBucketPrefix();
    const sagemaker = exampleSpecs().filter((e) => e.spec.provider === 'sagemaker');
    expect(sagemaker.map((e) => e.file).sort()).toEqual(['examples/sagemaker-xgboost/spec.yaml', 'examples/sagemaker-xgboost/template.yaml']);
    for (const { file, spec } of sagemaker) {
      const trial = parseSageMakerTrialSpec(spec);
      // an example account id stands in for the user's (the README says to put theirs)
      expect(trial.roleArn, file).toBe(`arn:aws:iam::${EXAMPLE_ACCOUNT}:role/${String(roleName)}`);
      const uris = [...(trial.inputs ?? []).map((i) => i.s3Uri), trial.output?.s3Uri];
      expect(uris.length, file).toBeGreaterThan(1);
      for (const uri of uris) expect(uri, file).toMatch(new RegExp(`^s3://${bucketPrefix}-${EXAMPLE_ACCOUNT}/`));
    }
    for (const { file, triggers } of exampleTemplates().filter((e) => e.spec.provider === 'sagemaker')) {
      expect(triggers.s3Prefix, file).toMatch(new RegExp(`^s3://${bucketPrefix}-${EXAMPLE_ACCOUNT}/`));
    }
    // and the stack says which bucket it expects: the training role's grant is on that name
    const output = template.Outputs?.['DataBucketName']?.Value as { 'Fn::Sub'?: string } | undefined;
    expect(output?.['Fn::Sub']).toBe(`${bucketPrefix}-\${AWS::AccountId}`);
  });

  it('routes S3 Object Created in the data buckets (default bus) and Dataset Ready to trigger', () => {
    const trigger = functions.find((f) => f.key === 'trigger');
    const patterns = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule' && (r.Properties['Targets'] as Record<string, Json>[]).some((t) => referencedId(t['Arn']) === trigger?.logicalId))
      .map((r) => ({ bus: r.Properties['EventBusName'], pattern: r.Properties['EventPattern'] }));
    expect(patterns).toContainEqual({
      bus: undefined,
      pattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [{ prefix: 'tunewire-dev-' }] } } },
    });
    expect(patterns.filter((p) => p.bus !== undefined).map((p) => p.pattern)).toEqual([
      { source: ['tunewire.datasets'], 'detail-type': ['Dataset Ready'] },
      { source: ['tunewire'], 'detail-type': ['Tuning Job Finished'] },
    ]);
  });

  it('routes finished SageMaker training jobs to trial-fan-out by TuningJobArn or by the tunewire tag (default bus)', () => {
    const fanOut = functions.find((f) => f.key === 'trial-fan-out');
    const patterns = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule' && (r.Properties['Targets'] as Record<string, Json>[]).some((t) => referencedId(t['Arn']) === fanOut?.logicalId))
      .map((r) => ({ bus: r.Properties['EventBusName'], pattern: r.Properties['EventPattern'] }));
    // AWS's documented Training Job State Change event has no TuningJobArn; the tag is inherited
    expect(patterns).toContainEqual({
      bus: undefined,
      pattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Training Job State Change'],
        detail: { TrainingJobStatus: ['Completed', 'Failed', 'Stopped'], $or: [{ TuningJobArn: [{ exists: true }] }, { Tags: { 'tunewire:job-id': [{ exists: true }] } }] },
      },
    });
  });

  it('gives notify its retry queue: delayed messages in, partial batch failures back, poison to the dead letters', () => {
    const notify = functions.find((f) => f.key === 'notify');
    // no waiting inside now: one attempt per receiver per invocation
    expect(notify?.resource.Properties['Timeout']).toBe(60);
    const config = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && referencedId(r.Properties['FunctionName']) === notify?.logicalId);
    expect(config?.Properties['MaximumRetryAttempts']).toBe(1);
    const mapping = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && referencedId(r.Properties['FunctionName']) === notify?.logicalId);
    expect(referencedId(mapping?.Properties['EventSourceArn'])).toBe('NotifyRetryQueue');
    expect(mapping?.Properties['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
    const queue = resource('NotifyRetryQueue');
    expect(queue?.Properties['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * 60);
    expect(referencedId((queue?.Properties['RedrivePolicy'] as { deadLetterTargetArn: Json }).deadLetterTargetArn)).toBe('NotifyDeadLetterQueue');
    const env = (notify?.resource.Properties['Environment'] as { Variables: Record<string, Json> }).Variables;
    expect(referencedId(env['TUNEWIRE_WEBHOOK_RETRY_QUEUE_URL'])).toBe('NotifyRetryQueue');
  });

  it('seals webhook secrets with a KMS key of its own, with rotation on', () => {
    const key = resource('WebhookSecretsKey');
    expect(key?.Type).toBe('AWS::KMS::Key');
    expect(key?.Properties['EnableKeyRotation']).toBe(true);
    for (const fn of functions) expect(referencedId((fn.resource.Properties['Environment'] as { Variables: Record<string, Json> }).Variables['TUNEWIRE_WEBHOOK_KMS_KEY']), fn.key).toBe('WebhookSecretsKey');
  });

  it('outputs every dead-letter queue URL', () => {
    const queues = Object.entries(template.Resources).filter(([id, r]) => r.Type === 'AWS::SQS::Queue' && id !== 'NotifyRetryQueue').map(([id]) => id);
    expect(queues).toHaveLength(FUNCTIONS.length - 1); // inbound-webhook: API Gateway only
    const outputs = Object.values(template.Outputs ?? {}).map((o) => referencedId(o.Value));
    for (const queue of queues) expect(outputs, queue).toContain(queue);
  });

  it('gives every function the environment for structured logs and metrics', () => {
    for (const fn of functions) {
      const env = (fn.resource.Properties['Environment'] as { Variables: Record<string, Json> }).Variables;
      expect(env['TUNEWIRE_SERVICE'], fn.key).toBe('tunewire-dev');
      expect(env['TUNEWIRE_METRICS_NAMESPACE'], fn.key).toBe('tunewire');
      expect(env['NODE_OPTIONS'], fn.key).toContain('--enable-source-maps');
    }
  });
});

/** Whether an `ArnLike` SourceArn pattern (a `Fn::Sub` string) admits the rule of this name. */
function ruleArnPatternMatches(pattern: Json, ruleName: string): boolean {
  const text = typeof pattern === 'string' ? pattern : ((pattern as { 'Fn::Sub'?: Json } | undefined)?.['Fn::Sub'] as string | undefined);
  if (typeof text !== 'string') return false;
  const resourcePart = text.split(':rule/')[1];
  if (resourcePart === undefined) return false;
  const regex = new RegExp(`^${resourcePart.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(ruleName) || regex.test(`tunewire-dev/${ruleName}`);
}
