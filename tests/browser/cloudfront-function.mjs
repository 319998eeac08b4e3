// Run a CloudFront Function's code under node against recorded viewer-request events:
//   node cloudfront-function.mjs FUNCTION.js EVENTS.json
// prints [{name, uri}] (the URI the function sent on) as JSON. The code runs in a fresh
// context with nothing but what the cloudfront-js runtime offers a plain function.
import { readFileSync } from 'node:fs'
import vm from 'node:vm'

const [code, events] = process.argv.slice(2).map((p) => readFileSync(p, 'utf8'))
const context = vm.createContext({})
vm.runInContext(code, context)
const out = JSON.parse(events).map((e) => {
  const req = context.handler(structuredClone(e.event))
  return { name: e.name, uri: req.uri }
})
process.stdout.write(JSON.stringify(out))
