// Drives Adobe's @adobe/firefly-apis 2.0.1 against a lampyris server (base-URL override as in
// contract §9): upload, fillImage, expandImage, generateObjectComposite with its mask in
// image.mask (where this SDK puts it), generateImages and generateSimilarImages (501 in the SDK's
// own error type when no text-to-image model is configured), and the errors a script meets: a
// fill without a mask, an unserved operation, a key that is not the token's. Routes this SDK has
// no method for (the -async jobs with /v3/status and /v3/cancel, the legacy /v1/images/fill and
// /v1/images/expand) go through its request layer. Each call runs even when another fails; one
// JSON line per call (`error` when it threw), and pytest downloads the result URLs and checks
// the pixels.
'use strict';
const fs = require('fs');
const env = process.env;
const BASE = env.LAMPYRIS_URL;
const out = (name, value) => console.log(JSON.stringify({ name, value }));
const blob = (path, type) => new Blob([fs.readFileSync(path)], { type });

async function call(name, fn) {
  try {
    out(name, await fn());
  } catch (err) {
    // sdk-core exports ApiError as a type only: its instances are known by name and fields.
    const apiError = err instanceof Error && err.name === 'ApiError'
      && ['url', 'status', 'statusText', 'body', 'request'].every((key) => key in err);
    out(name, { error: { name: err && err.name, apiError,
      status: err && err.status, body: err && err.body,
      message: String(err && err.message).slice(0, 500) } });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An async Firefly job through the SDK's request layer: the 202 (with its Link header), then
// /v3/status until the job has ended.
async function asyncJob(http, path, body) {
  const accepted = await http.request({ method: 'POST', url: path, body,
    mediaType: 'application/json' });
  const statusPath = `/v3/status/${accepted.result.jobId}`;
  for (let i = 0; i < 300; i += 1) {
    const status = await http.request({ method: 'GET', url: statusPath });
    if (!['pending', 'running', 'cancel_pending'].includes(status.result.status)) {
      return { accepted: accepted.result, link: accepted.headers.get('link'),
        statusLink: status.headers.get('link'), status: status.result };
    }
    await sleep(300);
  }
  throw new Error(`${path} job ${accepted.result.jobId} did not finish`);
}

async function main() {
  const { FireflyClient } = require('@adobe/firefly-apis');
  const ff = new FireflyClient({
    clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET,
    scopes: 'openid,AdobeID,firefly_api,ff_apis',
  });
  ff._httpRequest.config.baseUrl = BASE;
  ff._config.tokenProvider._baseUrlMap.set('production', BASE);

  const uploads = {};
  for (const name of ['PHOTO', 'MASK', 'PRODUCT_MASK']) {
    const answer = await ff.upload(blob(env[name], 'image/png'));
    uploads[name] = answer.result;
  }
  out('upload', uploads);
  const id = (name) => uploads[name].images[0].id;
  const size = { width: Number(env.WIDTH), height: Number(env.HEIGHT) };

  await call('fillImage', async () => (await ff.fillImage({
    prompt: 'grey studio wall', seeds: [11], size,
    image: { source: { uploadId: id('PHOTO') }, mask: { uploadId: id('MASK') } },
  })).result);

  await call('expandImage', async () => (await ff.expandImage({
    image: { source: { uploadId: id('PHOTO') } }, seeds: [5],
    size: { width: size.width + size.width / 2, height: size.height + size.height / 2 },
    placement: { alignment: { horizontal: 'left', vertical: 'top' } },
  })).result);

  await call('generateObjectComposite', async () => (await ff.generateObjectComposite({
    prompt: 'white marble counter, soft light', seeds: [3], contentClass: 'photo',
    size: { width: 800, height: 800 },
    image: { source: { uploadId: id('PHOTO') }, mask: { uploadId: id('PRODUCT_MASK') } },
  })).result);

  await call('generateImages', async () => (await ff.generateImages({
    prompt: 'a red ceramic vase on a white table', numVariations: 1,
    size: { width: 1024, height: 1024 }, contentClass: 'photo',
  })).result);

  // Routes this SDK has no method for, through its request layer: the async jobs (status,
  // cancel), generate's async and similar forms, and the legacy v1 fill and expand.
  const http = ff._httpRequest;
  await call('fillAsync', () => asyncJob(http, '/v3/images/fill-async', {
    prompt: 'grey studio wall', seeds: [11], size,
    image: { source: { uploadId: id('PHOTO') } }, mask: { source: { uploadId: id('MASK') } },
  }));
  await call('compositeAsync', () => asyncJob(http, '/v3/images/generate-object-composite-async', {
    prompt: 'white marble counter, soft light', seeds: [3], size: { width: 800, height: 800 },
    image: { source: { uploadId: id('PHOTO') } },
    mask: { source: { uploadId: id('PRODUCT_MASK') } },
  }));
  await call('cancel', async () => {
    const accepted = await http.request({ method: 'POST', url: '/v3/images/expand-async',
      mediaType: 'application/json', body: { image: { source: { uploadId: id('PHOTO') } },
        seeds: [1], size: { width: 960, height: 720 } } });
    // 200 while the job is pending or running; 409 job_completed if it won the race.
    const cancelled = await http.request({ method: 'PUT',
      url: `/v3/cancel/${accepted.result.jobId}` }).then(
      (answer) => ({ status: 200, body: answer.result }),
      (err) => ({ status: err.status, body: err.body }));
    for (let i = 0; i < 300; i += 1) {
      const status = await http.request({ method: 'GET',
        url: `/v3/status/${accepted.result.jobId}` });
      if (!['pending', 'running', 'cancel_pending'].includes(status.result.status)) {
        return { accepted: accepted.result, cancelled, status: status.result };
      }
      await sleep(300);
    }
    throw new Error('the cancelled job did not end');
  });
  await call('generateAsync', async () => (await http.request({ method: 'POST',
    url: '/v3/images/generate-async', mediaType: 'application/json',
    body: { prompt: 'a red ceramic vase' }, errors: { 501: 'Not Implemented' } })).result);
  await call('generateSimilarImages', async () => (await ff.generateSimilarImages({
    image: { source: { uploadId: id('PHOTO') } } })).result);
  await call('generateSimilarAsync', async () => (await http.request({ method: 'POST',
    url: '/v3/images/generate-similar-async', mediaType: 'application/json',
    body: { image: { source: { uploadId: id('PHOTO') } } },
    errors: { 501: 'Not Implemented' } })).result);
  await call('legacyFill', async () => (await http.request({ method: 'POST',
    url: '/v1/images/fill', mediaType: 'application/json',
    headers: { 'x-accept-mimetype': 'image/jpeg' }, body: {
      image: { id: id('PHOTO') }, mask: { id: id('MASK') }, seeds: [11],
      size: { width: 1408, height: 1024 } } })).result);
  await call('legacyExpand', async () => (await http.request({ method: 'POST',
    url: '/v1/images/expand', mediaType: 'application/json',
    headers: { 'x-accept-mimetype': 'image/jpeg' }, body: {
      image: { id: id('PHOTO') }, seeds: [5], size: { width: 1024, height: 1024 } } })).result);

  // The wire differences of issue 18 as this SDK meets them: a fill without a mask (422), an
  // operation lampyris does not serve (501), and a token of another client than the key (403).
  await call('fillWithoutMask', async () => (await ff.fillImage({
    prompt: 'grey studio wall', image: { source: { uploadId: id('PHOTO') } },
  })).result);
  await call('generateVideoV3', async () => (await ff.generateVideoV3({
    prompt: 'waves on a beach' })).result);
  const mismatched = new FireflyClient({ clientId: env.CLIENT_ID,
    tokenProvider: { getToken: async () => env.OTHER_TOKEN } });
  mismatched._httpRequest.config.baseUrl = BASE;
  await call('keyMismatch', async () => (await mismatched.upload(
    blob(env.PHOTO, 'image/png'))).result);
}

main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
