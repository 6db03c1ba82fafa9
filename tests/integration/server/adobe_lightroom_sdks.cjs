// Drives Adobe's Lightroom SDKs against a lampyris server: @adobe/lightroom-apis 1.0.0 (with the
// documented base-URL override, and once with its default base, whose requests go to
// //lrService/... and are rerouted here by wrapping fetch) and the Lightroom calls of
// @adobe/aio-lib-photoshop-api. Prints one JSON line per call; pytest checks the lines and the
// files the server wrote to S3.
'use strict';
const env = process.env;
const BASE = env.LAMPYRIS_URL;
const out = (name, value) => console.log(JSON.stringify({ name, value }));
const src = (href) => ({ href, storage: 'external' });
const jpeg = (href) => [{ href, storage: 'external', type: 'image/jpeg' }];

// Adobe's own host → this server, keeping the path; remembers the paths requested that way.
const adobePaths = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  const text = String(url);
  const match = text.match(/^https:\/\/image\.adobe\.io(\/.*)$/);
  if (!match) return realFetch(url, init);
  adobePaths.push(`${(init && init.method) || 'GET'} ${match[1]}`);
  return realFetch(BASE + match[1], init);
};

async function lightroomApis() {
  const { LightroomClient } = require('@adobe/lightroom-apis');
  const tokenProvider = { getToken: async () => env.ACCESS_TOKEN };
  const lr = new LightroomClient({ clientId: env.CLIENT_ID, tokenProvider });
  lr._lrAsyncClient._httpRequest.config.baseUrl = BASE; // one config object, no trailing slash
  const calls = {
    applyAutoTone: lr.applyAutoTone({ inputs: src(env.IN_URL), outputs: jpeg(env.PUT_TONE) }),
    autoStraightenImage: lr.autoStraightenImage({
      inputs: src(env.TILT_URL), options: { uprightMode: 'level', constrainCrop: true },
      outputs: jpeg(env.PUT_LEVEL),
    }),
    applyEdits: lr.applyEdits({
      inputs: { source: src(env.IN_URL) }, options: { Exposure: 1, Contrast: 10 },
      outputs: [{ href: env.PUT_EDIT, storage: 'external', type: 'image/jpeg', quality: 10 }],
    }),
    applyPreset: lr.applyPreset({
      inputs: { source: src(env.IN_URL), presets: [src(env.PRESET_URL)] },
      outputs: [{ href: env.PUT_PRESET, storage: 'external', type: 'image/png' }],
    }),
    applyPresetFromXmpContent: lr.applyPresetFromXmpContent({
      inputs: { source: src(env.IN_URL) }, options: { xmp: env.XMP },
      outputs: [{ href: env.PUT_XMP, storage: 'external', type: 'image/png' }],
    }),
  };
  const results = await Promise.all(Object.values(calls));
  Object.keys(calls).forEach((name, i) => out(name, results[i].result));
  const jobId = results[0].result.jobId;
  out('lrJobStatus', (await lr._lrAsyncClient.lrJobStatus(jobId)).result);

  const plain = new LightroomClient({ clientId: env.CLIENT_ID, tokenProvider }); // default base
  const job = await plain.applyAutoTone({ inputs: src(env.IN_URL), outputs: jpeg(env.PUT_DEFAULT) });
  out('defaultBase', { result: job.result, paths: adobePaths });
}

async function aioLib() {
  const sdk = require('@adobe/aio-lib-photoshop-api');
  const client = await sdk.init('lampyris@AdobeOrg', env.CLIENT_ID, env.ACCESS_TOKEN, undefined,
    { useSwaggerFetch: true });
  client.sdk.spec.servers = [{ url: BASE }];
  const calls = {
    autoTone: client.autoTone(src(env.IN_URL), src(env.AIO_TONE)),
    straighten: client.straighten(src(env.TILT_URL), [src(env.AIO_LEVEL)]),
    editPhoto: client.editPhoto(src(env.IN_URL), src(env.AIO_EDIT), { Exposure: 1 }),
    applyPreset: client.applyPreset(src(env.IN_URL), src(env.PRESET_URL), src(env.AIO_PRESET)),
    applyPresetXmp: client.applyPresetXmp(src(env.IN_URL), src(env.AIO_XMP), env.XMP),
  };
  const jobs = await Promise.all(Object.values(calls));
  Object.keys(calls).forEach((name, i) => out(`aio.${name}`,
    { jobId: jobs[i].jobId, outputs: jobs[i].outputs }));
}

(async () => {
  await Promise.all([lightroomApis(), aioLib()]);
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  console.error(JSON.stringify(e && (e.body || e.details)));
  process.exit(1);
});
