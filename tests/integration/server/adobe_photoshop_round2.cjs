// Drives Adobe's @adobe/photoshop-apis 2.0.1 against a lampyris server (base-URL override as in
// contract §9): removeBackground, createMask, applyAutoCrop, createRendition (three outputs),
// applyDepthBlur, and a status read of each family. No npm SDK has a method for /v2/edit,
// /v2/remove-background, /v1/auto-crop, /v1/refine-mask or /v1/fill-masked-areas, so those go
// through the same SDK's request layer (its auth headers, its error handling), as a script would
// call a route its SDK lacks; the edit writes a JPEG and an XMP output. Each call runs even when
// another fails; one JSON line per call (`error` when it threw), and pytest checks the lines,
// the schemas and the files the server wrote to S3.
'use strict';
const env = process.env;
const BASE = env.LAMPYRIS_URL;
const out = (name, value) => console.log(JSON.stringify({ name, value }));
const src = (href) => ({ href, storage: 'external' });
const dst = (href, type, extra = {}) => ({ href, storage: 'external', type, ...extra });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const failure = (err) => ({
  error: { name: err && err.name, status: err && err.status, body: err && err.body,
    message: String(err && err.message).slice(0, 500) },
});

async function call(name, fn) {
  try {
    out(name, await fn());
  } catch (err) {
    out(name, failure(err));
  }
}

// Submits ``body`` to ``path`` and polls ``status(jobId)`` until the job leaves ``running``.
async function job(http, path, body, statusPath) {
  const accepted = await http.request({ method: 'POST', url: path, body,
    mediaType: 'application/json' });
  const jobId = accepted.result.jobId;
  for (let i = 0; i < 300; i += 1) {
    const status = await http.request({ method: 'GET', url: statusPath(jobId) });
    if (!['pending', 'running', 'not_started'].includes(status.result.status)) {
      return { accepted: accepted.result, status: status.result };
    }
    await sleep(500);
  }
  throw new Error(`${path} job ${jobId} did not finish`);
}

const v2 = (http, path, body) => job(http, path, body, (id) => `/v2/status/${id}`);
const v1 = (http, path, body) => job(http, path, body, (id) => `/v1/status/${id}`);

async function main() {
  const { PhotoshopClient } = require('@adobe/photoshop-apis');
  const ps = new PhotoshopClient({ clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET,
    scopes: 'openid,AdobeID,read_organizations' });
  ps._config.baseUrl = BASE;
  ps._photoshopAsyncClient._httpRequest.config.baseUrl = BASE; // jobs go through the inner client
  ps._config.tokenProvider._baseUrlMap.set('production', BASE); // IMS → BASE/ims/token/v3
  const inner = ps._photoshopAsyncClient;

  // The jobs run side by side (the SDK polls each every 2 s).
  await Promise.all([
    call('removeBackground', async () => (await ps.removeBackground({
      input: src(env.IN_URL), output: { ...src(env.CUTOUT_URL), mask: { format: 'soft' } },
    })).result),
    call('createMask', async () => {
      const job = (await ps.createMask({
        input: src(env.IN_URL), output: { ...src(env.MASK_URL), mask: { format: 'binary' } },
      })).result;
      return { job, status: (await inner.senseiJobStatus(job.jobId)).result };
    }),
    call('applyAutoCrop', async () => (await ps.applyAutoCrop({
      inputs: [src(env.IN_URL)], outputs: [dst(env.CROP_URL, 'image/png')],
      options: { unit: 'Pixels', width: 40, height: 20 },
    })).result),
    call('createRendition', async () => {
      const job = (await ps.createRendition({
        inputs: [src(env.IN_URL)],
        outputs: [
          dst(env.REND_LARGE_URL, 'image/jpeg', { width: 320, quality: 7 }),
          dst(env.REND_FULL_URL, 'image/png', { width: 0 }),
          dst(env.REND_SMALL_URL, 'image/jpeg', { width: 160, quality: 2 }),
        ],
      })).result;
      return { job, status: (await inner.psJobStatus(job.jobId)).result };
    }),
    call('applyDepthBlur', async () => (await ps.applyDepthBlur({
      inputs: [src(env.BLUR_IN_URL)], outputs: [dst(env.BLUR_URL, 'image/png')],
      options: { focusSubject: true, blurStrength: 80 },
    })).result),
    // Routes no npm SDK has a method for, through this SDK's request layer.
    call('v2Edit', () => v2(inner._httpRequest, '/v2/edit', {
      image: { source: { url: env.EDIT_IN_URL } },
      edits: { light: { exposure: 1.0, contrast: 10 } },
      outputs: [
        { destination: { url: env.EDIT_JPEG_URL }, mediaType: 'image/jpeg', quality: 'high' },
        { destination: { url: env.EDIT_XMP_URL }, mediaType: 'application/rdf+xml' },
      ],
    })),
    call('v2RemoveBackground', () => v2(inner._httpRequest, '/v2/remove-background', {
      image: { source: { url: env.IN_URL } }, mode: 'cutout', output: { mediaType: 'image/png' },
    })),
    call('autoCrop', () => v2(inner._httpRequest, '/v1/auto-crop', {
      image: { source: { url: env.IN_URL } }, mode: 'smartCrop', aspectRatio: ['1:1', '16:9'],
    })),
    call('refineMask', () => v1(inner._httpRequest, '/v1/refine-mask', {
      image: { source: { url: env.IN_URL } }, mask: { source: { url: env.ROUGH_URL } },
    })),
    call('fillMaskedAreas', () => v1(inner._httpRequest, '/v1/fill-masked-areas', {
      image: { source: { url: env.SCENE_URL } }, masks: [{ source: { url: env.HOLE_URL } }],
    })),
  ]);
}

main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
