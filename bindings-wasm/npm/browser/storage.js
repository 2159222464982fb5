// Where a browser client keeps its session snapshot, and how every access is bounded.
//
// `storage` option: 'memory' (default: nothing outlives the page), 'localStorage',
// 'sessionStorage', or the app's own object with get/set/remove (sync or async).
// A storage that throws or never answers must not stall the client: every access goes
// through `bounded`, which settles after `ms` whatever the storage does.

/** Settles with `{ ok: true, value }`, or `{ ok: false, why }` when `op` throws or is
 * still pending after `ms` (a number or a promise of one; the late answer is dropped). */
export function bounded(op, ms) {
  return new Promise((resolve) => {
    // `ms` may be a promise (the core's bound, while the wasm loads): the op starts now.
    let timer;
    let settled = false;
    Promise.resolve(ms).then((m) => {
      if (!settled) timer = setTimeout(() => resolve({ ok: false, why: 'timeout' }), m);
    });
    const clear = () => {
      settled = true;
      clearTimeout(timer);
    };
    let p;
    try {
      p = Promise.resolve(op());
    } catch (e) {
      clear();
      resolve({ ok: false, why: 'error', error: e });
      return;
    }
    p.then(
      (value) => {
        clear();
        resolve({ ok: true, value });
      },
      (e) => {
        clear();
        resolve({ ok: false, why: 'error', error: e });
      },
    );
  });
}

function webStorage(kind, key) {
  const area = () => {
    const s = globalThis[kind];
    if (!s) throw new Error(`${kind} is not available here`);
    return s;
  };
  return {
    kind,
    get: () => area().getItem(key),
    set: (v) => area().setItem(key, v),
    remove: () => area().removeItem(key),
  };
}

/** Turns the `storage` option into `{ kind, get, set, remove }` for one key. */
export function storageFrom(option, key) {
  if (option === undefined || option === null || option === 'memory') {
    let value = null;
    return {
      kind: 'memory',
      get: () => value,
      set: (v) => {
        value = v;
      },
      remove: () => {
        value = null;
      },
    };
  }
  if (option === 'localStorage' || option === 'sessionStorage') return webStorage(option, key);
  if (
    typeof option === 'object' &&
    typeof option.get === 'function' &&
    typeof option.set === 'function' &&
    typeof option.remove === 'function'
  ) {
    return {
      kind: 'custom',
      get: () => option.get(key),
      set: (v) => option.set(key, v),
      remove: () => option.remove(key),
    };
  }
  throw new TypeError(
    "storage must be 'memory', 'localStorage', 'sessionStorage' or an object with get(key), set(key, value) and remove(key)",
  );
}
