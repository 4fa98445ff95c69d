import { TunewireError, ValidationError } from '../domain/errors';
import { ID_LIMITS } from '../domain/limits';
import { readYamlText } from '../domain/spec';
import { templateNameSchema } from '../domain/template';
import { deleteTemplate, getTemplate, listTemplates, putTemplate, type TemplateDependencies } from '../use-cases/manage-templates';
import { handleInboundWebhook } from './inbound-webhook';
import type { HttpRequest, HttpResponse } from './http-api';
import { decodePathSegment, shorten } from './http-input';

const json = (statusCode: number, value: unknown): HttpResponse => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value, null, 2) });

/** `?version=N`: a template version, counted from 1. */
const VERSION = /^[1-9]\d{0,8}$/;

/**
 * The template routes: `PUT|GET|DELETE /templates/{name}` (GET takes `?version=N`), `GET /templates`,
 * `POST /hooks/{template}`. Returns undefined for any other path, so the main API can try these
 * first and fall through. The path may carry a query string (`tunewire dev` passes the request
 * URL, the API Gateway adapter appends `rawQueryString`).
 */
export async function handleTemplateRequest(deps: TemplateDependencies, req: HttpRequest): Promise<HttpResponse | undefined> {
  const queryAt = req.path.indexOf('?');
  const path = queryAt < 0 ? req.path : req.path.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : req.path.slice(queryAt + 1));
  const hook = /^\/hooks\/([^/]+)\/?$/.exec(path);
  const one = /^\/templates\/([^/]+)\/?$/.exec(path);
  const all = /^\/templates\/?$/.test(path);
  try {
    if (hook && req.method === 'POST') {
      const template = templateName(decodePathSegment(hook[1] as string, 'template', ID_LIMITS.templateName), 'template');
      const { statusCode, body } = await handleInboundWebhook(deps, { template, headers: req.headers, body: req.body ?? '' });
      return json(statusCode, body);
    }
    if (all && req.method === 'GET') return json(200, { templates: await listTemplates(deps) });
    if (!one) return undefined;
    const name = decodePathSegment(one[1] as string, 'name', ID_LIMITS.templateName);
    if (req.method === 'PUT') {
      const read = readYamlText(req.body ?? '');
      if (!read.ok) throw new ValidationError('request body', [read.issue], read.cause === undefined ? {} : { cause: read.cause });
      return json(201, await putTemplate(deps, { name, document: read.document }));
    }
    if (req.method === 'GET') {
      const version = query.get('version');
      if (version !== null && !VERSION.test(version)) {
        throw new ValidationError('request query', [{ path: 'version', message: 'must be a template version: a whole number from 1' }]);
      }
      const view = await getTemplate(deps, { name, ...(version !== null ? { version: Number(version) } : {}) });
      return view ? json(200, view) : json(404, { error: { code: 'TEMPLATE.NOT_FOUND', message: `template ${name} was not found${version !== null ? ` at version ${version}` : ''}` } });
    }
    if (req.method === 'DELETE') {
      return (await deleteTemplate(deps, { name })) ? json(204, {}) : json(404, { error: { code: 'TEMPLATE.NOT_FOUND', message: `template ${name} was not found` } });
    }
    return json(405, { error: { code: 'HTTP.METHOD_NOT_ALLOWED', message: `${shorten(req.method, 16)} ${shorten(path)}` } });
  } catch (error) {
    if (error instanceof ValidationError) return json(400, { error: { code: error.code, message: error.message, issues: error.issues } });
    if (error instanceof TunewireError && !error.retryable) return json(409, { error: { code: error.code, message: error.message } });
    throw error;
  }
}

/** A name no template can have is refused, not looked up (it may be longer than a key allows). */
function templateName(name: string, field: string): string {
  const parsed = templateNameSchema.safeParse(name);
  if (!parsed.success) throw new ValidationError('request path', [{ path: field, message: parsed.error.issues[0]?.message ?? 'is not a template name' }]);
  return parsed.data;
}
