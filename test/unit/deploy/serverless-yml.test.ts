import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServerlessYml } from '../../../shared/adapters/bus/serverless-rules';
import { TTL_ATTRIBUTE, tableDefinition } from '../../../shared/adapters/dynamodb/table';

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
}

interface ServerlessYml {
  provider: { runtime: string; iam: { role: { statements: Statement[] } } };
  functions: Record<string, { handler: string }>;
  resources: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
}

const yml = readServerlessYml(join(ROOT, 'serverless.yml')) as ServerlessYml;

describe('serverless.yml', () => {
  it('runs on nodejs22.x', () => {
    expect(yml.provider.runtime).toBe('nodejs22.x');
  });

  it('declares the four functions, each with a handler file that exists', () => {
    expect(Object.keys(yml.functions).sort()).toEqual(['promote-best', 'status-change', 'submit', 'trial-fan-out']);
    for (const fn of Object.values(yml.functions)) {
      const file = fn.handler.replace(/\.handler$/, '.ts');
      expect(existsSync(join(ROOT, file)), file).toBe(true);
    }
  });

  it('declares the ledger table exactly as the code creates it', () => {
    const table = yml.resources.Resources['LedgerTable'];
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    const { TableName: _name, ...expected } = tableDefinition('any');
    const props = table?.Properties ?? {};
    expect({
      BillingMode: props['BillingMode'],
      AttributeDefinitions: props['AttributeDefinitions'],
      KeySchema: props['KeySchema'],
      GlobalSecondaryIndexes: props['GlobalSecondaryIndexes'],
    }).toEqual(expected);
    expect(props['TimeToLiveSpecification']).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
  });

  it('lets the functions pass only the training role, and only to SageMaker', () => {
    const statements = yml.provider.iam.role.statements;
    const passRole = statements.filter((s) => s.Action.includes('iam:PassRole'));
    expect(passRole).toEqual([
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [{ 'Fn::GetAtt': 'TrainingRole.Arn' }],
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
    for (const s of statements) for (const action of s.Action) expect(action, 'no wildcard actions').not.toContain('*');
    const actions = statements.flatMap((s) => s.Action);
    for (const needed of ['sagemaker:CreateHyperParameterTuningJob', 'sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:ListTrainingJobsForHyperParameterTuningJob', 'sagemaker:StopHyperParameterTuningJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:CreateModelPackage']) {
      expect(actions).toContain(needed);
    }
  });
});
