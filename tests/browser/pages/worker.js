// A module worker that tries to connect with a raw key (the guard covers workers too).
import { PolarGrid } from '/polargrid/browser/index.js';

onmessage = async ({ data }) => {
  try {
    const pg = await PolarGrid.connect({ apiKey: data.apiKey, endpoints: data.endpoints, allowKeyInBrowser: data.allow });
    const r = await pg.fetch('/v1/models');
    pg.close();
    postMessage({ ok: true, status: r.status });
  } catch (e) {
    postMessage({ ok: false, name: e.name, kind: e.kind, message: e.message });
  }
};
