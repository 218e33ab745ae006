// Errors as the app shows them. Every API error is an RFC 9457 problem
// (docs/api.md, "Errors"); anything else that goes wrong on the way (no
// network, a proxy's HTML page) is turned into the same shape so screens
// have one thing to render.
import type { FieldError, Problem } from './types';

const PROBLEM_BASE = 'https://shopfleet.io/problems/';

export class ApiProblem extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The problem's `type` without the base URI: `validation`, `conflict`, ... */
  readonly kind: string;
  readonly title: string;
  readonly detail: string;
  readonly fieldErrors: readonly FieldError[];
  /** Seconds from `Retry-After`, when the server sent one. */
  readonly retryAfter: number | null;

  constructor(problem: Problem, retryAfter: number | null = null) {
    super(problem.detail || problem.title);
    this.name = 'ApiProblem';
    this.status = problem.status;
    this.kind = problem.type.startsWith(PROBLEM_BASE) ? problem.type.slice(PROBLEM_BASE.length) : problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.fieldErrors = problem.errors ?? [];
    this.retryAfter = retryAfter;
  }

  /** The sentence a person reads: the server's detail, plus when to retry. */
  get humanMessage(): string {
    const base = sentence(this.detail || this.title || 'Something went wrong.');
    return this.retryAfter !== null ? `${base} Try again in ${this.retryAfter} s.` : base;
  }

  /** Field errors that add something to the message (not a repeat of it). */
  get extraFieldErrors(): readonly FieldError[] {
    return this.fieldErrors.filter((e) => e.detail.toLowerCase() !== this.detail.toLowerCase());
  }

  /** The error of one field (`email`, `lines[0].quantity`), if the server named it. */
  fieldError(field: string): string | undefined {
    return this.fieldErrors.find((e) => e.field === field)?.detail;
  }
}

/** The API writes details in lower case (`the email or password is wrong`): shown as a sentence. */
export function sentence(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

export function networkProblem(): ApiProblem {
  return new ApiProblem({
    type: 'network',
    title: 'Network error',
    status: 0,
    detail: 'Could not reach the server. Check your connection and try again.',
  });
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.status === 'number';
}

/** Reads an error response into an ApiProblem, whatever its body is. */
export async function problemFrom(response: Response): Promise<ApiProblem> {
  const retryHeader = response.headers.get('Retry-After');
  const retryAfter = retryHeader !== null && /^\d+$/.test(retryHeader) ? Number(retryHeader) : null;
  let body: unknown = null;
  try {
    body = await response.json(); // JSON boundary
  } catch {
    // Not JSON: a proxy's page, or an empty body.
  }
  if (isProblem(body)) {
    return new ApiProblem(
      {
        type: body.type,
        title: typeof body.title === 'string' ? body.title : '',
        status: body.status,
        detail: typeof body.detail === 'string' ? body.detail : '',
        errors: Array.isArray(body.errors) ? body.errors : [],
      },
      retryAfter,
    );
  }
  return new ApiProblem(
    {
      type: 'http',
      title: response.statusText || 'Error',
      status: response.status,
      detail: `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
    },
    retryAfter,
  );
}

/** Any thrown value as an ApiProblem (an unexpected bug included). */
export function toProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  return new ApiProblem({
    type: 'client',
    title: 'Unexpected error',
    status: 0,
    detail: error instanceof Error ? error.message : 'Something went wrong.',
  });
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
