// The errors of polargrid-core for JavaScript: every failure the core classifies, and the
// configuration and misuse errors it words, as one class with its fields.

// Separates the fields of the texts the core gives for errors and rare events.
export const SEP = '\u001f';

export const num = (s) => (s === '' || s === undefined ? null : Number(s));

/** A classified failure: what happened (`cause`), how to fix it (`fix`), never a secret. */
export class PolarGridError extends Error {
  constructor(f) {
    super(f[9] || f[5] || f[0]);
    this.name = 'PolarGridError';
    this.kind = f[0];
    this.status = num(f[1]);
    this.retryable = f[2] === '1';
    this.retryAfterMs = num(f[3]);
    this.requestId = f[4] || null;
    this.cause = f[5];
    this.fix = f[6];
    this.serverMessage = f[7] || null;
    this.attempts = num(f[8]) ?? 0;
    /** For kind `network`: the transport failure (`dns`, `connect`, …, `opaque`). */
    this.transport = f[10] || null;
  }
  toJSON() {
    const { name, message, kind, status, retryable, retryAfterMs, requestId, cause, fix, serverMessage, attempts, transport } = this;
    return { name, message, kind, status, retryable, retryAfterMs, requestId, cause, fix, serverMessage, attempts, transport };
  }
}

export function configError(message, fix = '', kind = 'invalid_config') {
  const what = kind === 'invalid_call' ? 'invalid call' : 'invalid configuration';
  return new PolarGridError([kind, '', '0', '', '', message, fix, '', '0', `${what}: ${message}${fix ? `. Fix: ${fix}` : ''}`]);
}

// The core throws `kind␟message␟fix` strings for refused options and values (its
// ConfigError and MisuseError: kind, cause and fix as the core words them).
export function fromCore(e) {
  if (typeof e !== 'string') return e;
  const [kind, message, fix] = e.split(SEP);
  return configError(message, fix, kind);
}

export function abortError(message) {
  return new DOMException(message, 'AbortError');
}
