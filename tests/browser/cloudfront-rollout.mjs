// Run cdnpub's rollout CloudFront Functions under node, as the cloudfront-js-2.0 runtime would:
//   node cloudfront-rollout.mjs REQUEST.js RESPONSE.js KVS.json EVENTS.json
// KVS.json is the KeyValueStore's content ({key: value}); `import cf from 'cloudfront'` is
// served by a stub whose kvs(id).get(key) answers from it (and fails for a missing key, as the
// runtime does). For each viewer-request event, the request function runs, then the response
// function on a 200 response to the request it produced; prints [{name, uri, cookie, preview}]
// (the bucket and preview cookies set) as JSON.
import { readFileSync } from 'node:fs'
import vm from 'node:vm'

const [reqPath, respPath, kvsPath, eventsPath] = process.argv.slice(2)
const store = JSON.parse(readFileSync(kvsPath, 'utf8'))
const kvsIds = []
const cf = {
  kvs(id) {
    kvsIds.push(id)
    return {
      async get(key) {
        if (!(key in store)) throw new Error(`key ${key} not found`)
        return store[key]
      },
    }
  },
}
function load(path) {
  let code = readFileSync(path, 'utf8')
  const importLine = /^import cf from 'cloudfront';$/m
  const context = vm.createContext({ cf })
  code = code.replace(importLine, '')
  vm.runInContext(code, context)
  return context.handler
}
const onRequest = load(reqPath)
const onResponse = load(respPath)
const out = []
for (const e of JSON.parse(readFileSync(eventsPath, 'utf8'))) {
  const request = await onRequest(structuredClone(e.event))
  const response = onResponse({
    version: '1.0',
    context: { eventType: 'viewer-response' },
    viewer: e.event.viewer,
    request: structuredClone(request),
    response: { statusCode: 200, statusDescription: 'OK', headers: {}, cookies: {} },
  })
  const cookie = response.cookies.cdnpub_bucket
  const preview = response.cookies.cdnpub_release
  out.push({ name: e.name, uri: request.uri, cookie: cookie ? cookie.value : null, preview: preview ? preview.value : null })
}
process.stdout.write(JSON.stringify({ kvsIds, results: out }))
