// CloudFront Function (viewer request, runtime cloudfront-js-2.0): serve the .br / .gz object
// that `cdnpub publish --encoding identity --siblings` stored beside each compressible file.
//
// A browser that takes br gets `<uri>.br`, one that takes gzip `<uri>.gz`, any other client the
// plain object. On a bucket target cdnpub stores both keys for EVERY compressible file (below;
// the same list as cdnpub's src/site/classify.rs, checked by tests/it/contrib.rs): where the
// build made no smaller variant (a small or incompressible file) the key holds the plain bytes
// without Content-Encoding, so rewriting by extension alone never asks for a missing key.
// The stored objects carry their own Content-Encoding; add `Vary: Accept-Encoding` with a
// response headers policy and leave the behavior's automatic compression off.
var COMPRESSIBLE = [
  'html', 'htm', 'css', 'js', 'mjs', 'cjs', 'map', 'json', 'webmanifest', 'svg', 'xml', 'txt',
  'md', 'csv', 'wasm', 'ttf', 'otf', 'eot', 'ico', 'bmp', 'glsl', 'vert', 'frag', 'less',
  'scss', 'ts',
];

function takes(accept, coding) {
  // "gzip, deflate, br;q=0": a coding listed with q=0 is refused; "*" takes any coding.
  var parts = accept.split(',');
  var star = false;
  for (var i = 0; i < parts.length; i++) {
    var p = parts[i].split(';');
    var name = p[0].trim();
    var q = 1;
    for (var j = 1; j < p.length; j++) {
      var kv = p[j].split('=');
      if (kv[0].trim() === 'q') q = parseFloat(kv[1]);
    }
    if (name === coding) return q > 0;
    if (name === '*' && q > 0) star = true;
  }
  return star;
}

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var dot = uri.lastIndexOf('.');
  if (dot <= uri.lastIndexOf('/')) return request;
  if (COMPRESSIBLE.indexOf(uri.substring(dot + 1).toLowerCase()) < 0) return request;
  var header = request.headers['accept-encoding'];
  var accept = header ? header.value.toLowerCase() : '';
  if (takes(accept, 'br')) request.uri = uri + '.br';
  else if (takes(accept, 'gzip')) request.uri = uri + '.gz';
  return request;
}
