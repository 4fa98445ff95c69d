import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServerlessYml } from '../../../shared/adapters/bus/serverless-rules';
import { TTL_ATTRIBUTE, tableDefinition } from '../../../shared/adapters/dynamodb/table';

/** serverless.yml as written; template.test.ts checks what osls generates from it. */

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface ServerlessYml {
  provider: { runtime: string; iam?: unknown };
  functions: Record<string, { handler: string; role?: unknown }>;
  resources: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
}

const yml = readServerlessYml(join(ROOT, 'serverless.yml')) as ServerlessYml;

describe('serverless.yml', () => {
  it('runs on nodejs22.x', () => {
    expect(yml.provider.runtime).toBe('nodejs22.x');
  });

  it('declares the functions, each with a handler file that exists', () => {
    expect(Object.keys(yml.functions).sort()).toEqual(['inbound-webhook', 'notify', 'promote-best', 'reconcile', 'retune', 'status-change', 'submit', 'trial-fan-out', 'trigger']);
    for (const [name, fn] of Object.entries(yml.functions)) {
      const file = fn.handler.replace(/\.[^.]+$/, '.ts');
      expect(existsSync(join(ROOT, file)), `${name}: ${file}`).toBe(true);
    }
  });

  it('grants nothing at provider level: every function names its own role', () => {
    expect(yml.provider.iam).toBeUndefined();
    for (const [name, fn] of Object.entries(yml.functions)) {
      expect(typeof fn.role, `${name}.role`).toBe('string');
      expect(yml.resources.Resources[fn.role as string]?.Type, `${name}.role`).toBe('AWS::IAM::Role');
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
});
