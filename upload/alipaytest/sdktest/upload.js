'use strict';
// Uploads one file with Alipay's official Node SDK (alipay-sdk 4.x) to the
// alipaytest emulator, for sdk_test.go next to this file. Over v3 it uses
// sdk.curl(), which verifies every answer below HTTP 400; over the classic
// gateway sdk.exec() with a formData, which verifies only with
// validateSign: true, so that is set.
//
// Input: one JSON object as the only argument (see sdk_test.go, sdkInput).
// Output: one JSON line on stdout, {"ok":true,"image_id",...} or
// {"ok":false,"error",...}; the exit status is 0 either way, and non-zero
// only when the script itself breaks.
const { AlipayFormData } = require('alipay-sdk');
const { client, main } = require('./sdk.js');

function form(c, withToken) {
  const f = new AlipayFormData();
  f.addField('image_type', c.image_type);
  f.addField('image_name', c.image_name);
  if (c.image_pid) f.addField('image_pid', c.image_pid);
  // exec() ignores its params for a multipart call: the token must be a
  // form field, which the SDK then also puts in the query.
  if (withToken && c.app_auth_token) f.addField('app_auth_token', c.app_auth_token);
  f.addFile('image_content', c.file_name, c.file);
  return f;
}

async function upload(c) {
  const sdk = client(c);
  if (c.api === 'v3') {
    const res = await sdk.curl('POST', '/v3/alipay/offline/material/image/upload', {
      form: form(c, false),
      appAuthToken: c.app_auth_token || undefined,
    });
    return {
      ok: true,
      status: res.responseHttpStatus,
      image_id: res.data.image_id,
      image_url: res.data.image_url,
      trace_id: res.traceId,
    };
  }
  const res = await sdk.exec('alipay.offline.material.image.upload', {}, {
    formData: form(c, true),
    validateSign: true,
  });
  if (res.code !== '10000') {
    return { ok: false, error: res.msg, code: res.code, sub_code: res.subCode, trace_id: res.traceId };
  }
  return { ok: true, image_id: res.imageId, image_url: res.imageUrl, trace_id: res.traceId };
}

main(upload);
