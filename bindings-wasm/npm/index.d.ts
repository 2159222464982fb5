// Types of the npm package polargrid-core (hand-written beside the driver, index.js).

/** What `PolarGrid.connect` takes. Everything is checked before any request is made. */
export interface ConnectOptions {
  /** Your `pg_…` key (session and direct modes). */
  apiKey?: string;
  /** A snapshot to restore (from `pg.snapshot()` or a 'session' event): no new exchange. */
  session?: string | object;
  /** `session` (default: the key is exchanged for a JWT), `direct` (the key goes to the
   * edges) or `handoff` (no key here: your backend mints sessions, see `handOver`). */
  mode?: 'session' | 'direct' | 'handoff';
  /** Pin a region: an id (`yto-01`) or an alias (`toronto`); discovery is skipped. */
  region?: string;
  /** Discovery scope: stay in your country (default) or go global. */
  scope?: 'country' | 'global';
  /** A fixed edge base URL (an autorouter URL means auto-routing). */
  baseURL?: string;
  /** Where PolarGrid lives: the emulator's start-up JSON as it is (object or string). */
  endpoints?: string | object;
  /** The fetch to send with (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** The clock, Unix milliseconds (default `Date.now`; tests move it). */
  now?: () => number;
  /** Shortcut for `pg.on('session', fn)`. */
  onSession?: (event: SessionEvent) => void;
  /** Attempts per call, the first included (1–20; default 4). */
  maxAttempts?: number;
  /** Advanced/tests: first retry backoff and its cap, in ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Whether a pinned region may fail over to another when it is down. */
  failoverPinned?: boolean;
  /** Each attempt's time to the answer head, ms (default 60 000). */
  requestTimeoutMs?: number;
  /** Establishing a connection, ms, for every request (default 10 000; honoured by
   * Node's own fetch, a page's fetch has no such setting). */
  connectTimeoutMs?: number;
  /** Each exchange and refresh request, ms (default 10 000). */
  authTimeoutMs?: number;
  /** A call as a whole, every attempt and backoff, to its answer head, ms (default twice
   * the request timeout). A stream's body after the head is never cut. */
  callDeadlineMs?: number;
  /** Tests: the seed of jitter and request ids (default: random). */
  seed?: number;
  /** Where the wasm core is, when your bundler does not emit it beside the package (see
   * the README's "Bundlers"). Used by the first `connect` or `load` only. */
  wasm?: WasmSource;
}

/** Error kinds: every kind the package produces (the core's `ErrorKind::NAMES`, in
 * core/src/error.rs; a test keeps this list equal to it). `invalid_config` also covers a
 * wasm that cannot load (404, CSP without 'wasm-unsafe-eval', not WebAssembly): its `fix`
 * names the cause. */
export type ErrorKind =
  | 'invalid_api_key' | 'session_expired' | 'no_session' | 'cdn_blocked' | 'insufficient_scope'
  | 'billing' | 'validation' | 'not_found' | 'rate_limited' | 'server' | 'network'
  | 'malformed_response' | 'unexpected_status' | 'invalid_config' | 'key_in_browser'
  | 'invalid_call' | 'cancelled' | 'closed';

/** What failed below HTTP, as the core names it. */
export type TransportErrorKind =
  | 'dns' | 'connect' | 'tls' | 'connect_timeout' | 'timeout' | 'aborted' | 'protocol' | 'opaque';

/** Where the wasm core is, when not beside the package's JavaScript (where bundlers put it):
 * its URL, a `Response` (or a promise of one), the compiled module or its bytes. */
export type WasmSource = string | URL | Request | Response | Promise<Response> | WebAssembly.Module | ArrayBuffer | ArrayBufferView;

/** Fetches and compiles the wasm core once (`connect` does; call it earlier to start the
 * download sooner). Rejects with a `PolarGridError` of kind `invalid_config` whose `fix`
 * names the cause; a later call tries again. */
export function load(wasm?: WasmSource): Promise<void>;

/** A classified failure. Never holds a secret in `message`, `stack` or its JSON. */
export class PolarGridError extends Error {
  readonly name: 'PolarGridError';
  readonly kind: ErrorKind;
  /** HTTP status, when there was an answer. */
  readonly status: number | null;
  /** Whether the same call can succeed later. */
  readonly retryable: boolean;
  /** When the server asked to come back (from `Retry-After`). */
  readonly retryAfterMs: number | null;
  /** The `X-Request-ID` sent, for support tickets. */
  readonly requestId: string | null;
  /** One line: what happened. */
  readonly cause: string;
  /** One line: how to fix it. */
  readonly fix: string;
  /** The server's own message, scrubbed and bounded. */
  readonly serverMessage: string | null;
  /** Attempts made. */
  readonly attempts: number;
  /** For kind `network`: what failed below HTTP (the core's table; `opaque` in a page,
   * whose fetch does not say). */
  readonly transport: TransportErrorKind | null;
  toJSON(): Record<string, unknown>;
}

export interface SessionEvent {
  reason: 'exchanged' | 'refreshed' | 'handedOver' | 'restored' | 'cleared';
  sessionId: string | null;
  /** When the JWT expires (server clock, Unix ms). */
  expiresAt: number | null;
  refreshExpiresAt: number | null;
  /** When the client plans to refresh (your clock, Unix ms). */
  refreshAt: number | null;
  /** Permission words in the JWT, if any. */
  scope: string[] | null;
  /** What to persist (holds secrets: store it like a password); null means delete it. */
  snapshot: string | null;
  /** Whether this client got the session itself (exchanged, refreshed, handed over), so
   * clients sharing it (other tabs) are to be told; false for a restored or cleared one. */
  share: boolean;
}

export interface RegionEvent {
  region: string;
  endpoint: string;
  reason: 'discovered' | 'fallback' | 'failover' | 'configured';
}

export interface SessionEndedEvent {
  /** Why; hand over a new session (handoff mode) to continue. */
  error: PolarGridError;
}

export interface EventMap {
  session: SessionEvent;
  region: RegionEvent;
  sessionEnded: SessionEndedEvent;
}

export type SessionStatus = 'none' | 'exchanging' | 'active' | 'refreshing' | 'ended' | 'direct';

export class PolarGrid {
  /** Loads the wasm core (see `load`), checks the options and builds a client; no request is
   * made until the first call. Rejects with a `PolarGridError` of kind `invalid_config` (with
   * its `fix`) on bad options or a wasm that cannot load. */
  static connect(options?: ConnectOptions): Promise<PolarGrid>;
  private constructor();
  /** A drop-in `fetch`: routes, authorizes, retries per the core and resolves to the real
   * `Response` (streams untouched). Takes a path (`/v1/models`) or a full URL under
   * `baseURL` (or any PolarGrid region). `init.signal` cancels the call. Rejects with a
   * `PolarGridError` when the call fails, with the signal's reason when aborted.
   * `init.deadline` (ms) bounds this call as a whole (see `callDeadlineMs`). */
  readonly fetch: (input: string | URL | Request, init?: RequestInit & { deadline?: number }) => Promise<Response>;
  /** The base URL for OpenAI-style clients (`…/v1`). */
  readonly baseURL: string;
  readonly status: SessionStatus;
  /** The region the last call went to. */
  readonly region: string | null;
  /** The region that answered a response from `pg.fetch`. */
  regionOf(response: Response): string | null;
  /** Subscribes; returns the function that unsubscribes. */
  on<E extends keyof EventMap>(event: E, listener: (event: EventMap[E]) => void): () => void;
  /** The session to persist (holds secrets), or null. */
  snapshot(): string | null;
  /** Hands over a session your backend minted (the auth service's answer, as is). */
  handOver(grant: string | object): void;
  /** Forgets the session (the next call exchanges the key again, or waits for a hand-over). */
  logout(): void;
  /** Stops the timer, aborts in-flight requests, rejects open calls. */
  close(): void;
}
