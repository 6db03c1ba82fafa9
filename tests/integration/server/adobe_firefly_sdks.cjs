// Drives Adobe's @adobe/firefly-apis 2.0.1 against a lampyris server with the documented
// override (base URL on the client's one config object, IMS host on the token provider):
// upload, fillImage, expandImage, generateObjectComposite, and a fill with an unknown upload id.
// Prints one JSON line per call; pytest downloads the result URLs and checks the pixels.
'use strict';
const fs = require('fs');
const env = process.env;
const BASE = env.LAMPYRIS_URL;
const out = (name, value) => console.log(JSON.stringify({ name, value }));
const blob = (path, type) => new Blob([fs.readFileSync(path)], { type });

async function main() {
  const { FireflyClient } = require('@adobe/firefly-apis');
  const ff = new FireflyClient({
    clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET,
    scopes: 'openid,AdobeID,firefly_api,ff_apis',
  });
  ff._httpRequest.config.baseUrl = BASE;
  ff._config.tokenProvider._baseUrlMap.set('production', BASE);

  const id = async (path, type) => (await ff.upload(blob(path, type))).result.images[0].id;
  const photo = await id(env.PHOTO, 'image/png');
  const mask = await id(env.MASK, 'image/png');
  const cutout = await id(env.CUTOUT, 'image/png');
  out('upload', { photo, mask, cutout });

  const fill = await ff.fillImage({
    prompt: 'white marble counter, soft morning light', numVariations: 2, seeds: [11, 12],
    image: { source: { uploadId: photo }, mask: { uploadId: mask } },
  });
  out('fillImage', fill.result);

  const expand = await ff.expandImage({
    image: { source: { uploadId: photo } }, size: { width: 960, height: 720 }, seeds: [5],
    placement: { alignment: { horizontal: 'left', vertical: 'top' } },
  });
  out('expandImage', expand.result);

  const composite = await ff.generateObjectComposite({
    prompt: 'warm oak table, golden hour', image: { source: { uploadId: cutout } },
    size: { width: 800, height: 800 }, contentClass: 'photo', seeds: [3],
  });
  out('generateObjectComposite', composite.result);

  try {
    await ff.fillImage({ image: { source: { uploadId: photo }, mask: { uploadId: '00000000-0000-4000-8000-000000000000' } } });
    out('unknownUpload', { thrown: false });
  } catch (err) {
    out('unknownUpload', { thrown: true, status: err.status, body: err.body });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
