// Types of the package's browser entry (browser/index.js).
import { ConnectOptions, PolarGrid as Base, PolarGridError, load } from '../index.js';

export { PolarGridError, load };

/** Where the session snapshot is kept: every access is bounded, a throwing or hanging
 * store only costs persistence. */
export type SessionStorageOption =
  | 'memory'
  | 'localStorage'
  | 'sessionStorage'
  | {
      get(key: string): string | null | undefined | Promise<string | null | undefined>;
      set(key: string, value: string): void | Promise<void>;
      remove(key: string): void | Promise<void>;
    };

export interface BrowserConnectOptions extends ConnectOptions {
  /** Your backend's session route: returns the auth service's answer (a grant). Called at
   * start when neither storage nor `session` holds one, and whenever the core ends the
   * session. */
  getSession?: () => Promise<string | object>;
  /** A grant from your backend or a snapshot from `pg.snapshot()`. */
  session?: string | object;
  /** Default 'memory'. */
  storage?: SessionStorageOption;
  /** Accept a raw pg_ key in a page or worker (anyone who opens the page can read it). */
  allowKeyInBrowser?: boolean;
  /** false: do not share the session with other tabs. Default true. */
  tabs?: boolean;
  /** Tabs with the same key share a session. Default 'default'. */
  storageKey?: string;
  /** How long to wait for another tab's exchange/refresh before the core decides otherwise. Default: the core's (15000 with the default auth timeout). */
  lockTimeoutMs?: number;
  /** Bound on every storage access. Default: the core's (2000). */
  storageTimeoutMs?: number;
}

export interface TabStat {
  kind: 'refresh' | 'exchange';
  /** sent; adopted (another tab's session, nothing sent); withheld (not sent: `why` lock-timeout or spent-elsewhere; the core decided what instead); closed; failed. */
  outcome?: 'sent' | 'adopted' | 'withheld' | 'closed' | 'failed';
  why?: string;
  lockWaitMs?: number;
  checkMs?: number;
  sendMs?: number;
  publishMs?: number;
  totalMs?: number;
}

export declare class TabSession {
  constructor(options?: object);
  /** Per guarded exchange/refresh: where the time went. */
  readonly stats: TabStat[];
  close(): void;
}

/** A client from the browser `connect`: the driver's client plus its tab coordination. */
export type PolarGrid = Base & { readonly tabs: TabSession };
export declare const PolarGrid: {
  /** Handoff by default; rejects a raw pg_ key (kind `key_in_browser`) unless
   * `allowKeyInBrowser`. */
  connect(options?: BrowserConnectOptions): Promise<PolarGrid>;
};

export declare function connectInBrowser(options?: BrowserConnectOptions): Promise<PolarGrid>;
export declare function inBrowser(): boolean;
