'use strict';
// Uploads a batch of files with Alipay's official Node SDK (alipay-sdk 4.x,
// installed in upload/alipaytest/sdktest by `make deps`) to the alipaytest
// emulator, c at a time, verifying the signature of every answer as
// applications do (validateSign: true): the other side of cmd/bench's sdk
// scenario. NODE_PATH names the SDK's node_modules.
//
// Input: the path of a JSON file {gateway, app_id, private_key_file,
// alipay_public_key_file, concurrency, files: [paths]}. Output: one JSON
// line {"uploaded": n, "failures": n, "first_error": "..."}; the exit
// status is 0 unless the script itself breaks.
const fs = require('node:fs');
const path = require('node:path');
const { AlipaySdk, AlipayFormData } = require('alipay-sdk');

const c = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const sdk = new AlipaySdk({
  appId: c.app_id,
  privateKey: fs.readFileSync(c.private_key_file, 'utf8'),
  keyType: 'PKCS8',
  gateway: c.gateway,
  alipayPublicKey: fs.readFileSync(c.alipay_public_key_file, 'utf8'),
  timeout: 300000,
});

async function upload(file) {
  const form = new AlipayFormData();
  form.addField('image_type', 'jpg');
  form.addField('image_name', path.basename(file));
  form.addFile('image_content', path.basename(file), file);
  const res = await sdk.exec('alipay.offline.material.image.upload', {}, { formData: form, validateSign: true });
  if (res.code !== '10000' || !res.imageId) {
    throw new Error(`${path.basename(file)}: code ${res.code} ${res.msg} ${res.subCode} ${res.subMsg}`);
  }
}

async function main() {
  let next = 0;
  const out = { uploaded: 0, failures: 0, first_error: '' };
  const worker = async () => {
    while (next < c.files.length) {
      const file = c.files[next++];
      try {
        await upload(file);
        out.uploaded++;
      } catch (err) {
        out.failures++;
        out.first_error = out.first_error || String(err && err.message);
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
