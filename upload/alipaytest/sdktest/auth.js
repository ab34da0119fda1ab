'use strict';
// Exchanges an app_auth_code, refreshes the token and queries it with
// Alipay's official Node SDK (alipay-sdk 4.x) against the alipaytest
// emulator, for sdk_test.go (TestOfficialSDKAuth). Classic calls use
// sdk.exec() with validateSign: true; v3 calls sdk.curl(), which verifies
// every answer below HTTP 400.
//
// Input: one JSON object as the only argument ({"api","app_id","gateway",
// "endpoint","private_key_file","alipay_public_key_file","code"}).
// Output: one JSON line on stdout, {"ok":true,"exchange":{...},
// "refresh":{...},"query":{...}} with snake_case fields, or
// {"ok":false,"error",...}.
const { client, main } = require('./sdk.js');

function snake(o) {
  if (Array.isArray(o)) return o.map(snake);
  if (o === null || typeof o !== 'object') return o;
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    out[k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())] = snake(v);
  }
  return out;
}

async function call(sdk, c, method, path, biz) {
  if (c.api === 'v3') {
    if (method.endsWith('.query')) {
      const res = await sdk.curl('GET', path, { query: biz });
      return snake(res.data);
    }
    const res = await sdk.curl('POST', path, { body: biz });
    return snake(res.data);
  }
  const res = await sdk.exec(method, { bizContent: biz }, { validateSign: true });
  if (res.code !== '10000') throw Object.assign(new Error(res.msg), { code: res.subCode });
  return snake(res);
}

async function run(c) {
  const sdk = client(c);
  const token = ['alipay.open.auth.token.app', '/v3/alipay/open/auth/token/app'];
  const exchange = await call(sdk, c, ...token, { grant_type: 'authorization_code', code: c.code });
  const refresh = await call(sdk, c, ...token, { grant_type: 'refresh_token', refresh_token: exchange.app_refresh_token });
  const query = await call(sdk, c, 'alipay.open.auth.token.app.query', '/v3/alipay/open/auth/token/app/query',
    { app_auth_token: refresh.app_auth_token });
  return { ok: true, exchange, refresh, query };
}

main(run);
