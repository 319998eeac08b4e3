// Load a page in headless Chromium (Debian's `chromium`, driven by playwright-core), open its
// lazy route and report every request (URL, status, type, Content-Encoding, bytes of the body
// on the wire) as JSON on stdout:
//   node visit.mjs PAGE_URL
// The page must have `#go` (opens the lazy route, which renders `#lazy`); `#worker`, when the
// page has one, must come to read "worker: pong". A page with `#nav` (a client-side router link
// to a second route that renders `#about`) must set `data-ready` on <html> once its framework has
// hydrated; the report then says whether that navigation kept the document (`clientNav`: no
// reload) and `#about` rendered (`about`).
import { createRequire } from 'node:module'

const require = createRequire(process.env.PLAYWRIGHT_CORE || import.meta.url)
const { chromium } = require('playwright-core')

const url = process.argv[2]
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-proxy-server'],
})
const out = {
  requests: [],
  failed: [],
  console: [],
  lazy: false,
  lazyBackground: '',
  worker: null,
  about: false,
  clientNav: null,
  title: '',
}
try {
  const page = await browser.newPage()
  page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => out.console.push(`pageerror: ${e.message}`))
  page.on('requestfailed', async (r) => {
    const resp = await r.response().catch(() => null)
    // A HEAD that was answered (Next.js's router probes route payloads so) is reported as
    // aborted by Chromium once its headers arrive: it did not fail.
    if (r.method() === 'HEAD' && resp && resp.status() < 400) return
    out.failed.push({ url: r.url(), method: r.method(), error: r.failure()?.errorText ?? 'failed' })
  })
  page.on('requestfinished', async (r) => {
    const resp = await r.response()
    // bodySize: the bytes of the body as they crossed the wire (compressed when encoded).
    const sizes = await r.sizes().catch(() => ({ responseBodySize: -1 }))
    out.requests.push({
      url: r.url(),
      status: resp ? resp.status() : 0,
      type: r.resourceType(),
      encoding: resp ? (await resp.headerValue('content-encoding')) || '' : '',
      bodySize: sizes.responseBodySize,
    })
  })
  await page.goto(url, { waitUntil: 'load', timeout: 20000 })
  out.title = await page.title()
  await page.waitForSelector('#go', { timeout: 10000 })
  const hasNav = (await page.$('#nav')) !== null
  if (hasNav) await page.waitForSelector('html[data-ready]', { timeout: 10000 })
  await page.click('#go')
  await page.waitForSelector('#lazy', { timeout: 10000 })
  out.lazy = true
  out.lazyBackground = await page.$eval('#lazy', (e) => getComputedStyle(e).backgroundImage)
  out.api = await page.$eval('#api', (e) => e.textContent).catch(() => null)
  if (await page.$('#worker')) {
    await page
      .waitForFunction(() => document.getElementById('worker').textContent === 'worker: pong', null, {
        timeout: 10000,
      })
      .catch(() => {})
    out.worker = await page.$eval('#worker', (e) => e.textContent)
  }
  if (hasNav) {
    await page.evaluate(() => {
      window.__cdnpubMarker = 42
    })
    await page.click('#nav')
    await page.waitForSelector('#about', { timeout: 10000 })
    out.about = true
    out.clientNav = (await page.evaluate(() => window.__cdnpubMarker)) === 42
    out.aboutUrl = page.url()
  }
  // Let the image of the lazy route's CSS finish.
  await page.waitForLoadState('networkidle', { timeout: 10000 }).catch(() => {})
} catch (e) {
  out.console.push(`visit: ${e.message}`)
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(out))
