'use strict';
// What upload.js and auth.js share: the SDK client built from their JSON
// input, and the way they run and print.
const fs = require('node:fs');
const { AlipaySdk } = require('alipay-sdk');

// client builds the SDK for the input's app_id, gateway and endpoint, with
// the app's private key and either Alipay's public key
// (alipay_public_key_file) or the three certificates (app_cert_file,
// alipay_cert_file, root_cert_file).
function client(c) {
  const config = {
    appId: c.app_id,
    privateKey: fs.readFileSync(c.private_key_file, 'utf8'),
    keyType: 'PKCS8',
    gateway: c.gateway,
    endpoint: c.endpoint,
    timeout: 30000,
  };
  if (c.app_cert_file) {
    config.appCertPath = c.app_cert_file;
    config.alipayPublicCertPath = c.alipay_cert_file;
    config.alipayRootCertPath = c.root_cert_file;
  } else {
    config.alipayPublicKey = fs.readFileSync(c.alipay_public_key_file, 'utf8');
  }
  return new AlipaySdk(config);
}

// main calls fn with the JSON object given as the only argument and prints
// one JSON line on stdout: what fn returned, or {"ok":false,"error",...}
// when it threw. The exit status is 0 either way, and non-zero only when
// the script itself breaks.
function main(fn) {
  fn(JSON.parse(process.argv[2])).then(
    (out) => process.stdout.write(JSON.stringify(out) + '\n'),
    (err) => process.stdout.write(JSON.stringify({
      ok: false,
      error: String(err && err.message),
      code: err && err.code,
      status: err && err.responseHttpStatus,
    }) + '\n'),
  );
}

module.exports = { client, main };
