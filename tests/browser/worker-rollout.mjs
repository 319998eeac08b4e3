// Run cdnpub's rollout Cloudflare Worker under node (node 20 has the fetch API the Workers
// runtime offers): node worker-rollout.mjs WORKER.mjs KV.json VISITS.json
// KV.json is the ROLLOUT namespace's content ({key: value}, a missing key answers null, as
// Workers KV does); the origin is a stub fetch that answers 200 with the URL it was asked for.
// Each visit {name, url, headers} prints {name, fetched, setCookie, cacheControl}.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const [workerPath, kvPath, visitsPath] = process.argv.slice(2)
const store = JSON.parse(readFileSync(kvPath, 'utf8'))
globalThis.fetch = async (request) => {
  const url = typeof request === 'string' ? request : request.url
  return new Response(url, { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-cache' } })
}
const worker = (await import(pathToFileURL(workerPath).href)).default
const env = { ROLLOUT: { async get(key) { return key in store ? store[key] : null } } }
const out = []
for (const v of JSON.parse(readFileSync(visitsPath, 'utf8'))) {
  const response = await worker.fetch(new Request(v.url, { headers: v.headers }), env)
  out.push({
    name: v.name,
    fetched: new URL(await response.text()).pathname,
    setCookie: response.headers.get('set-cookie'),
    cacheControl: response.headers.get('cache-control'),
  })
}
process.stdout.write(JSON.stringify(out))
