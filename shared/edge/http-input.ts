import { ValidationError } from '../domain/errors';
import { idLengthIssue } from '../domain/limits';

/**
 * Decodes one percent-encoded path segment; malformed encoding (`%ZZ`, a lone `%`, bytes that are
 * not UTF-8) is a 400 naming the segment, not the URIError decodeURIComponent throws.
 */
export function decodePathSegment(raw: string, name: string, maxBytes = Number.POSITIVE_INFINITY): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch (error) {
    throw new ValidationError('request path', [{ path: name, message: `${shorten(JSON.stringify(raw))} is not valid percent-encoding` }], { cause: error });
  }
  const issue = idLengthIssue(name, decoded, maxBytes);
  if (issue) throw new ValidationError('request path', [issue]);
  return decoded;
}

/** Echoes of the request in messages are cut: a path or method may be long. */
export function shorten(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
