// Drives every method of Adobe's @adobe/lightroom-apis 1.0.0 against a lampyris server
// (base-URL override as in contract §9): applyAutoTone, autoStraightenImage, applyEdits,
// applyPreset, applyPresetFromXmpContent, and lrJobStatus on the inner client. One JSON line per
// call (`error` when it threw); pytest checks the schemas and the files the server wrote to S3.
'use strict';
const env = process.env;
const out = (name, value) => console.log(JSON.stringify({ name, value }));
const src = (href) => ({ href, storage: 'external' });
const dst = (href, type) => [{ href, storage: 'external', type }];

async function call(name, fn) {
  try {
    out(name, await fn());
  } catch (err) {
    out(name, { error: { name: err && err.name, status: err && err.status, body: err && err.body,
      message: String(err && err.message).slice(0, 500) } });
  }
}

async function main() {
  const { LightroomClient } = require('@adobe/lightroom-apis');
  const lr = new LightroomClient({ clientId: env.CLIENT_ID,
    tokenProvider: { getToken: async () => env.ACCESS_TOKEN } });
  lr._lrAsyncClient._httpRequest.config.baseUrl = env.LAMPYRIS_URL; // one config object
  await Promise.all([
    call('applyAutoTone', async () => (await lr.applyAutoTone({
      inputs: src(env.DARK_URL), outputs: dst(env.TONE_URL, 'image/jpeg') })).result),
    call('autoStraightenImage', async () => (await lr.autoStraightenImage({
      inputs: src(env.TILT_URL), options: { uprightMode: 'level', constrainCrop: true },
      outputs: dst(env.LEVEL_URL, 'image/jpeg') })).result),
    call('applyEdits', async () => (await lr.applyEdits({
      inputs: { source: src(env.DARK_URL) }, options: { Exposure: 1, Contrast: 10 },
      outputs: dst(env.EDIT_URL, 'image/jpeg') })).result),
    call('applyPreset', async () => (await lr.applyPreset({
      inputs: { source: src(env.DARK_URL), presets: [src(env.PRESET_URL)] },
      outputs: dst(env.PRESET_OUT_URL, 'image/png') })).result),
    call('applyPresetFromXmpContent', async () => {
      const job = (await lr.applyPresetFromXmpContent({
        inputs: { source: src(env.DARK_URL) }, options: { xmp: env.XMP },
        outputs: dst(env.XMP_OUT_URL, 'image/png') })).result;
      return { job, status: (await lr._lrAsyncClient.lrJobStatus(job.jobId)).result };
    }),
  ]);
}

main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
