// realname.js: the client of the realname server's Mini Program API.
// Copy it with the page. It logs in with wx.login, keeps the session token,
// logs in again once when the server answers 401, and turns every failure
// into an Error with the server's stable `code` (see README.md).
const { BASE_URL } = require('./config');

const STORAGE_KEY = 'realname_session';
let loggingIn = null; // one wx.login at a time, shared by concurrent calls

// apiError builds the Error the page branches on. statusCode 0 means the
// request never got an answer (no network, timeout, domain not allowed).
function apiError(statusCode, body, header) {
  const e = (body && body.error) || {};
  const err = new Error(e.message || (statusCode ? 'HTTP ' + statusCode : 'network error'));
  err.code = e.code || (statusCode ? 'http_' + statusCode : 'network');
  err.statusCode = statusCode;
  err.requestId = e.request_id || '';
  err.attempts = e.attempts || [];
  err.fields = e.fields || []; // confirm_correction: what contradicts the card
  const retry = header && (header['Retry-After'] || header['retry-after']);
  err.retryAfter = retry ? parseInt(retry, 10) : 0; // seconds; wx.uploadFile gives no headers
  return err;
}

function networkError(res) {
  const err = apiError(0, null, null);
  err.message = (res && res.errMsg) || err.message;
  return err;
}

// wxRequest wraps wx.request in a Promise. It resolves for 2xx answers with
// the parsed body and rejects with apiError otherwise.
function wxRequest(opts) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: BASE_URL + opts.path,
      method: opts.method,
      data: opts.data,
      header: opts.header,
      timeout: 30000,
      success(res) {
        // wx.request parses JSON bodies itself (dataType "json").
        if (res.statusCode >= 200 && res.statusCode < 300) {
          resolve(res.data);
        } else {
          reject(apiError(res.statusCode, res.data, res.header));
        }
      },
      fail(res) { reject(networkError(res)); }
    });
  });
}

// login exchanges a fresh wx.login code for a session token. A code works
// once, so every login calls wx.login again.
function login() {
  if (loggingIn) { return loggingIn; }
  loggingIn = new Promise((resolve, reject) => {
    wx.login({
      success(res) {
        if (!res.code) { reject(apiError(0, { error: { code: 'wx_login_failed', message: res.errMsg } })); return; }
        resolve(res.code);
      },
      fail(res) { reject(apiError(0, { error: { code: 'wx_login_failed', message: res.errMsg } })); }
    });
  }).then((code) => wxRequest({
    method: 'POST',
    path: '/api/v1/session',
    data: { code: code },
    header: { 'content-type': 'application/json' }
  })).then((body) => {
    wx.setStorageSync(STORAGE_KEY, { token: body.token, expiresAt: body.expires_at });
    return body.token;
  });
  const done = () => { loggingIn = null; };
  loggingIn.then(done, done);
  return loggingIn;
}

// session returns a token that is not about to expire, logging in if needed.
function session() {
  const s = wx.getStorageSync(STORAGE_KEY);
  if (s && s.token) {
    const exp = Date.parse(s.expiresAt);
    // An unparsable date is not a reason to log in: a 401 would tell us.
    if (isNaN(exp) || exp - Date.now() > 60 * 1000) { return Promise.resolve(s.token); }
  }
  return login();
}

function forgetSession() { wx.removeStorageSync(STORAGE_KEY); }

// withSession runs send(token) and, when the server says the session is
// gone (401 unauthorized), logs in again and retries once.
function withSession(send) {
  return session().then(send).catch((err) => {
    if (err.code !== 'unauthorized') { throw err; }
    forgetSession();
    return login().then(send);
  });
}

// request calls a JSON route of the API with the session.
function request(method, path, data, header) {
  return withSession((token) => wxRequest({
    method: method,
    path: path,
    data: data,
    header: Object.assign({ 'content-type': 'application/json', Authorization: 'Bearer ' + token }, header || {})
  }));
}

// uploadIDCard sends one photo as multipart field "image" with side and
// consent_version. wx.uploadFile hands back the body as a string: parse it.
function uploadIDCard(filePath, side, consentVersion) {
  const formData = {};
  if (side) { formData.side = side; }
  if (consentVersion) { formData.consent_version = consentVersion; }
  return withSession((token) => new Promise((resolve, reject) => {
    wx.uploadFile({
      url: BASE_URL + '/api/v1/verification/idcard',
      filePath: filePath,
      name: 'image',
      formData: formData,
      header: { Authorization: 'Bearer ' + token },
      timeout: 60000,
      success(res) {
        let body = null;
        try { body = JSON.parse(res.data); } catch (e) { body = null; }
        if (res.statusCode >= 200 && res.statusCode < 300 && body) {
          resolve(body);
        } else {
          reject(apiError(res.statusCode, body, null));
        }
      },
      fail(res) { reject(networkError(res)); }
    });
  }));
}

// newIdempotencyKey names one submit attempt. The server scopes keys per
// user, so uniqueness is all that is needed, not secrecy.
function newIdempotencyKey() {
  return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12);
}

module.exports = {
  login: login,
  forgetSession: forgetSession,
  request: request,
  uploadIDCard: uploadIDCard,
  newIdempotencyKey: newIdempotencyKey
};
