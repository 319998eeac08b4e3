// Run cdnpub's rollout fetch routers under node (node 20 has the fetch API both runtimes offer):
//   node worker-rollout.mjs SCRIPT KV.json VISITS.json [cloudflare|edgeone]
// cloudflare (the default): SCRIPT is a module Worker; its KV namespace is env.ROLLOUT and the
// visitor's address the CF-Connecting-IP header. edgeone: SCRIPT is a Service Worker script
// (addEventListener('fetch')); its namespace is the global CDNPUB_ROLLOUT and the address
// request.eo.clientIp (taken from the visit's cf-connecting-ip, which is then not sent).
// KV.json is the namespace's content ({key: value}, a missing key answers null); the origin is a
// stub fetch that answers 200 with the URL it was asked for. Each visit {name, url, headers}
// prints {name, fetched, setCookie, cacheControl}.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const [scriptPath, kvPath, visitsPath, mode = 'cloudflare'] = process.argv.slice(2)
const store = JSON.parse(readFileSync(kvPath, 'utf8'))
const namespace = { async get(key) { return key in store ? store[key] : null } }
globalThis.fetch = async (request) => {
  const url = typeof request === 'string' ? request : request.url
  return new Response(url, { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-cache' } })
}
let handle
if (mode === 'edgeone') {
  let listener = null
  globalThis.addEventListener = (type, fn) => { if (type === 'fetch') listener = fn }
  globalThis.CDNPUB_ROLLOUT = namespace
  await import(pathToFileURL(scriptPath).href)
  if (!listener) throw new Error('the script added no fetch listener')
  handle = (v) => {
    const headers = { ...v.headers }
    const ip = headers['cf-connecting-ip'] || ''
    delete headers['cf-connecting-ip']
    const request = new Request(v.url, { headers })
    request.eo = { clientIp: ip }
    let answered = null
    listener({ request, respondWith (p) { answered = p } })
    if (!answered) throw new Error('the listener did not respond')
    return answered
  }
} else {
  const worker = (await import(pathToFileURL(scriptPath).href)).default
  handle = (v) => worker.fetch(new Request(v.url, { headers: v.headers }), { ROLLOUT: namespace })
}
const out = []
for (const v of JSON.parse(readFileSync(visitsPath, 'utf8'))) {
  const response = await handle(v)
  out.push({
    name: v.name,
    fetched: new URL(await response.text()).pathname,
    setCookie: response.headers.get('set-cookie'),
    cacheControl: response.headers.get('cache-control'),
  })
}
process.stdout.write(JSON.stringify(out))
