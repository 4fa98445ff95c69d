import { parse as parseYaml } from 'yaml';
import { TunewireError, ValidationError } from '../domain/errors';
import { deleteTemplate, getTemplate, listTemplates, putTemplate, type TemplateDependencies } from '../use-cases/manage-templates';
import { handleInboundWebhook } from './inbound-webhook';
import type { HttpRequest, HttpResponse } from './http-api';

const json = (statusCode: number, value: unknown): HttpResponse => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value, null, 2) });

/**
 * The template routes: `PUT|GET|DELETE /templates/{name}`, `GET /templates`, `POST /hooks/{template}`.
 * Returns undefined for any other path, so the main API can try these first and fall through.
 */
export async function handleTemplateRequest(deps: TemplateDependencies, req: HttpRequest): Promise<HttpResponse | undefined> {
  const hook = /^\/hooks\/([^/]+)\/?$/.exec(req.path);
  const one = /^\/templates\/([^/]+)\/?$/.exec(req.path);
  const all = /^\/templates\/?$/.test(req.path);
  try {
    if (hook && req.method === 'POST') {
      const { statusCode, body } = await handleInboundWebhook(deps, { template: decodeURIComponent(hook[1] as string), headers: req.headers, body: req.body ?? '' });
      return json(statusCode, body);
    }
    if (all && req.method === 'GET') return json(200, { templates: await listTemplates(deps) });
    if (!one) return undefined;
    const name = decodeURIComponent(one[1] as string);
    if (req.method === 'PUT') {
      let document: unknown;
      try {
        document = parseYaml(req.body ?? '');
      } catch (error) {
        throw new ValidationError('request body', [{ path: '(document)', message: 'is not valid YAML or JSON' }], { cause: error });
      }
      return json(201, await putTemplate(deps, { name, document }));
    }
    if (req.method === 'GET') {
      const version = /[?&]version=(\d+)/.exec(req.path)?.[1];
      const view = await getTemplate(deps, { name, ...(version ? { version: Number(version) } : {}) });
      return view ? json(200, view) : json(404, { error: { code: 'TEMPLATE.NOT_FOUND', message: `template ${name} was not found` } });
    }
    if (req.method === 'DELETE') {
      return (await deleteTemplate(deps, { name })) ? json(204, {}) : json(404, { error: { code: 'TEMPLATE.NOT_FOUND', message: `template ${name} was not found` } });
    }
    return json(405, { error: { code: 'HTTP.METHOD_NOT_ALLOWED', message: `${req.method} ${req.path}` } });
  } catch (error) {
    if (error instanceof ValidationError) return json(400, { error: { code: error.code, message: error.message, issues: error.issues } });
    if (error instanceof TunewireError && !error.retryable) return json(409, { error: { code: error.code, message: error.message } });
    throw error;
  }
}
