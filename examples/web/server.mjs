#!/usr/bin/env node
// The example's backend: it holds the API key, mints sessions for the page (handoff),
// and serves the page and the npm package. The key never reaches the browser.
//
//   cargo run -q -p polargrid-emulator | node examples/web/server.mjs    # against the emulator
//   POLARGRID_API_KEY=pg_… node examples/web/server.mjs                    # against PolarGrid
//
// then open the printed URL. With the emulator, its start-up JSON (first stdout line)
// arrives on stdin and gives the endpoints and a test key.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = resolve(fileURLToPath(new URL('.', import.meta.url)));
const PACKAGE = resolve(HERE, '../../bindings-wasm/npm');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.map': 'application/json',
};

/**
 * Serves `roots` (URL prefix → folder) and the session route on 127.0.0.1.
 * `endpoints`: the emulator's start-up JSON (or null for the real service);
 * `apiKey`: the key sessions are minted with. Resolves to `{ url, close() }`.
 */
export async function startServer({ endpoints = null, apiKey, port = 0, roots = {} }) {
  const auth = (endpoints && endpoints.auth) || 'https://auth.polargrid.ai';
  const publicEndpoints = endpoints && { ...endpoints, keys: undefined, admin: undefined };
  const allRoots = { '/polargrid/': PACKAGE, ...roots, '/': HERE };
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      if (req.method === 'POST' && url.pathname === '/session') {
        // The backend route an app writes: check its own user here, then mint.
        const r = await fetch(`${auth}/v1/auth/session`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ user_agent: 'polargrid-example-web/0.1' }),
        });
        res.writeHead(r.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(await r.text());
        return;
      }
      if (req.method === 'GET' && url.pathname === '/config.json') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ endpoints: publicEndpoints }));
        return;
      }
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      for (const [prefix, dir] of Object.entries(allRoots)) {
        if (!url.pathname.startsWith(prefix)) continue;
        let rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
        const file = normalize(join(dir, rel));
        if (!file.startsWith(dir + sep) && file !== dir) break;
        const st = await stat(file).catch(() => null);
        if (!st || !st.isFile()) continue;
        res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(await readFile(file));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } catch (e) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`backend error: ${e.message}`);
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => server.close(r)),
    server,
  };
}

async function main() {
  let endpoints = null;
  let apiKey = process.env.POLARGRID_API_KEY;
  if (!apiKey) {
    if (process.stdin.isTTY) {
      console.error('Pipe the emulator into me:  cargo run -q -p polargrid-emulator | node examples/web/server.mjs\nor set POLARGRID_API_KEY for the real service.');
      process.exit(2);
    }
    const rl = createInterface({ input: process.stdin });
    const first = await new Promise((r) => rl.once('line', r));
    endpoints = JSON.parse(first);
    apiKey = endpoints.keys.read_write;
  }
  const { url } = await startServer({ endpoints, apiKey, port: Number(process.env.PORT || 8787) });
  console.log(`open ${url}/  (${endpoints ? 'emulator' : 'PolarGrid'}; the key stays in this process)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
