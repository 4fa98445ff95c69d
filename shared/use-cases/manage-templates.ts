import { parseTemplateDocument, templateNameSchema } from '../domain/template';
import { ValidationError } from '../domain/errors';
import type { TemplateRecord, TemplateStore, TemplateVersion } from '../ports/templates';
import type { Dependencies } from './dependencies';

/** Use cases that work with templates need the store besides the usual dependencies. */
export interface TemplateDependencies extends Dependencies {
  readonly templates: TemplateStore;
}

/** What `get`/`list` show: the webhook secret never leaves the ledger. */
export interface TemplateView extends Omit<TemplateRecord, 'triggers'> {
  readonly triggers: Omit<TemplateRecord['triggers'], 'webhook'> & { readonly webhook?: { readonly kind: string; readonly header?: string; readonly secret: '***' } };
  readonly spec?: TemplateVersion['spec'];
  readonly version?: number;
}

export function templateView(template: TemplateRecord, version?: TemplateVersion): TemplateView {
  const { webhook, ...triggers } = template.triggers;
  return {
    ...template,
    triggers: { ...triggers, ...(webhook ? { webhook: { kind: webhook.kind, ...(webhook.header ? { header: webhook.header } : {}), secret: '***' as const } } : {}) },
    ...(version ? { version: version.version, spec: version.spec } : {}),
  };
}

export function checkTemplateName(name: string): string {
  const parsed = templateNameSchema.safeParse(name);
  if (!parsed.success) throw new ValidationError('template name', [{ path: 'name', message: parsed.error.issues[0]?.message ?? 'is invalid' }]);
  return parsed.data;
}

/**
 * Store a new version of a template.
 *
 * 1. Parse the document (spec, policy, debounce, triggers); bad fields are named, nothing is written.
 * 2. Check the spec against its provider's rules, as submit would.
 * 3. Write version latest+1 and the settings (conditional; a racing put gets the next number).
 */
export async function putTemplate(deps: TemplateDependencies, input: { readonly name: string; readonly document: unknown }): Promise<TemplateView> {
  const name = checkTemplateName(input.name);
  const { spec, settings } = parseTemplateDocument(input.document, `template ${name}`);
  deps.providers.get(spec.provider).provider.validate(spec);
  const { template, version } = await deps.templates.putTemplate({ name, spec, settings, at: deps.clock.now().toISOString() });
  return templateView(template, version);
}

export async function getTemplate(deps: TemplateDependencies, input: { readonly name: string; readonly version?: number }): Promise<TemplateView | undefined> {
  const template = await deps.templates.getTemplate(checkTemplateName(input.name));
  if (!template) return undefined;
  const version = await deps.templates.getVersion(template.name, input.version ?? template.latestVersion);
  if (!version) return undefined;
  return templateView(template, version);
}

export async function listTemplates(deps: TemplateDependencies): Promise<TemplateView[]> {
  return (await deps.templates.listTemplates()).map((t) => templateView(t));
}

export async function deleteTemplate(deps: TemplateDependencies, input: { readonly name: string }): Promise<boolean> {
  return deps.templates.deleteTemplate(checkTemplateName(input.name));
}
