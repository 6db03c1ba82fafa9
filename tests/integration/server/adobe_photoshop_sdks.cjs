// Drives Adobe's own npm SDKs against a lampyris server (base-URL overrides as in Adobe's
// SDK sources): @adobe/photoshop-apis and @adobe/aio-lib-photoshop-api. Prints one JSON line
// per call; pytest checks the lines and the files the server wrote to S3.
'use strict';
const env = process.env;
const BASE = env.LAMPYRIS_URL;
const out = (name, value) => console.log(JSON.stringify({ name, value }));

async function photoshopApis() {
  const { PhotoshopClient } = require('@adobe/photoshop-apis');
  const ps = new PhotoshopClient({ clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET,
    scopes: 'openid,AdobeID,read_organizations' });
  ps._config.baseUrl = BASE;
  ps._photoshopAsyncClient._httpRequest.config.baseUrl = BASE; // jobs go through the inner client
  ps._config.tokenProvider._baseUrlMap.set('production', BASE); // IMS → BASE/ims/token/v3
  const cut = await ps.removeBackground({
    input: { href: env.IN_URL, storage: 'external' },
    output: { href: env.CUTOUT_URL, storage: 'external', mask: { format: 'soft' } },
  });
  out('removeBackground', cut.result);
  const mask = await ps.createMask({
    input: { href: env.IN_URL, storage: 'external' },
    output: { href: env.MASK_URL, storage: 'external', mask: { format: 'binary' } },
  });
  out('createMask', mask.result);
  const status = await ps._photoshopAsyncClient.senseiJobStatus(mask.result.jobId);
  out('senseiJobStatus', status.result);
}

async function aioLib() {
  const sdk = require('@adobe/aio-lib-photoshop-api');
  const client = await sdk.init('lampyris@AdobeOrg', env.CLIENT_ID, env.ACCESS_TOKEN, undefined,
    { useSwaggerFetch: true });
  client.sdk.spec.servers = [{ url: BASE }];
  const cut = await client.createCutout({ href: env.IN_URL, storage: 'external' },
    { href: env.AIO_CUTOUT_URL, storage: 'external', type: 'image/png', mask: { format: 'soft' } });
  out('createCutout', { jobId: cut.jobId, outputs: cut.outputs });
  const mask = await client.createMask({ href: env.IN_URL, storage: 'external' },
    { href: env.AIO_MASK_URL, storage: 'external' });
  out('aio.createMask', { jobId: mask.jobId, outputs: mask.outputs });
}

(async () => {
  await photoshopApis();
  await aioLib();
})().catch((e) => { console.error(e && e.stack ? e.stack : e); console.error(JSON.stringify(e && e.body)); process.exit(1); });
