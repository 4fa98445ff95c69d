import { ledgerClient } from '../shared/composition';
import { DynamoDbTemplateStore } from '../shared/adapters/dynamodb/dynamodb-template-store';
import { loadConfig } from '../shared/config';
import type { TemplateDependencies } from '../shared/use-cases/manage-templates';
import { cloudDependencies } from './runtime';

let dependencies: Promise<TemplateDependencies> | undefined;

/** The composition root plus the template store (same table), built once per cold start. */
export function templateDependencies(): Promise<TemplateDependencies> {
  dependencies ??= cloudDependencies().then((deps) => {
    const config = loadConfig(process.env);
    const client = ledgerClient(config);
    return { ...deps, templates: new DynamoDbTemplateStore({ client, tableName: config.tableName }) };
  });
  return dependencies;
}
