// driver.js runs examples/miniprogram's page in Node with a stub `wx`
// against a running realname server, as a user would tap through it:
//
//   node driver.js BASE_URL FRONT.jpg BACK.jpg NOT_AN_IMAGE WHO [SANDBOX_URL [fallback]]
//
// With SANDBOX_URL the server runs with REALNAME_FACE=required and the
// driver walks the face step instead (mainFace): the stub
// wx.requestFacialVerify plays WeChat's client through the sandbox's
// control endpoint, as the user's phone would. With "fallback" the server
// runs REALNAME_FACE=fallback, the card has no record at the authority, and
// the driver declines the face check (mainDecline).
//
// It exits non-zero with a message when the page does not behave. The stub
// implements only what the page calls, as WeChat documents it: wx.request
// parses JSON, wx.uploadFile hands the body back as a string, a toast and a
// loading indicator share one slot (hideLoading hides a toast too).
'use strict';
const fs = require('fs');
const path = require('path');

const [baseURL, frontPath, backPath, junkPath, who, sandboxURL, faceMode] = process.argv.slice(2);
const example = path.resolve(__dirname, '../../examples/miniprogram');

function fail(msg) {
  console.error('driver: ' + msg);
  process.exit(1);
}

// config.js points at the server under test.
const configPath = path.join(example, 'config.js');
const config = require(configPath);
config.BASE_URL = baseURL;

// The stub wx.
const storage = {};
let toast = null; // the one toast/loading slot: {kind, title}
let nextPhoto = '';
let modalAnswer = true;
const modals = [];
const subscribeAsks = [];
let loginCount = 0;
let faceRet = 0; // what the next face capture ends with (verify_ret)
const faceIds = []; // the verify_ids wx.requestFacialVerify was given
const faceStarts = []; // the bodies of POST /face
let faceResults = 0; // POST /face/result calls
let pending = 0; // wx.login, wx.request and wx.uploadFile calls not answered yet

function headerObject(h) {
  const out = {};
  h.forEach((v, k) => { out[k] = v; });
  return out;
}

global.wx = {
  login({ success }) {
    loginCount++;
    pending++;
    setImmediate(() => {
      pending--;
      success({ code: who + ':' + Date.now().toString(36) + loginCount, errMsg: 'login:ok' });
    });
  },
  request({ url, method, data, header, success: ok, fail: notOK }) {
    pending++;
    const success = (r) => { pending--; ok(r); };
    const failed = (r) => { pending--; if (notOK) { notOK(r); } };
    const init = { method: method || 'GET', headers: header || {} };
    if (url.endsWith('/api/v1/verification/face')) { faceStarts.push(data); }
    if (url.endsWith('/api/v1/verification/face/result')) { faceResults++; }
    if (data !== undefined && init.method !== 'GET') { init.body = JSON.stringify(data); }
    fetch(url, init).then(async (res) => {
      const text = await res.text();
      let body = text;
      try { body = JSON.parse(text); } catch (e) { /* wx leaves non-JSON as text */ }
      success({ statusCode: res.status, data: body, header: headerObject(res.headers) });
    }, (err) => failed({ errMsg: 'request:fail ' + err.message }));
  },
  uploadFile({ url, filePath, name, formData, header, success: ok, fail: notOK }) {
    pending++;
    const success = (r) => { pending--; ok(r); };
    const failed = (r) => { pending--; if (notOK) { notOK(r); } };
    const form = new FormData();
    Object.keys(formData || {}).forEach((k) => form.append(k, formData[k]));
    form.append(name, new Blob([fs.readFileSync(filePath)]), path.basename(filePath));
    fetch(url, { method: 'POST', body: form, headers: header || {} }).then(async (res) => {
      success({ statusCode: res.status, data: await res.text() });
    }, (err) => failed({ errMsg: 'uploadFile:fail ' + err.message }));
  },
  chooseMedia({ success }) {
    const p = nextPhoto;
    setImmediate(() => success({ tempFiles: [{ tempFilePath: p, size: fs.statSync(p).size }] }));
  },
  requirePrivacyAuthorize({ success }) { setImmediate(success); },
  // The capture: the sandbox learns its verify_ret, as WeChat would from
  // the phone; the client side only says whether the capture ran (900xx
  // fail), never the verdict.
  requestFacialVerify({ verifyId, success, fail: failed, complete }) {
    faceIds.push(verifyId);
    fetch(sandboxURL + '/_sandbox/wechat/face', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ verify_id: verifyId, verify_ret: faceRet })
    }).then((res) => {
      if (!res.ok) { fail('sandbox face control: HTTP ' + res.status); }
      const r = faceRet >= 90000 ? { errCode: faceRet, errMsg: 'requestFacialVerify:fail' } : { errCode: 0, errMsg: 'requestFacialVerify:ok' };
      if (r.errCode) { failed && failed(r); } else { success && success(r); }
      complete && complete(r);
    }, (err) => fail('sandbox face control: ' + err.message));
  },
  onNeedPrivacyAuthorization() {},
  requestSubscribeMessage(opts) { subscribeAsks.push(opts.tmplIds); if (opts.complete) { opts.complete(); } },
  showLoading({ title }) { toast = { kind: 'loading', title: title }; },
  hideLoading() { toast = null; },
  showToast({ title, icon }) { toast = { kind: 'toast', title: title, icon: icon }; },
  showModal(opts) {
    modals.push(opts);
    setImmediate(() => opts.success && opts.success({ confirm: modalAnswer, cancel: !modalAnswer }));
  },
  stopPullDownRefresh() {},
  openPrivacyContract() {},
  getStorageSync(k) { return storage[k] === undefined ? '' : storage[k]; },
  setStorageSync(k, v) { storage[k] = JSON.parse(JSON.stringify(v)); },
  removeStorageSync(k) { delete storage[k]; }
};

// Page and setData, with WeChat's data paths ('front.photo').
let page = null;
global.App = () => {};
global.Page = (def) => {
  page = Object.assign({}, def);
  page.data = JSON.parse(JSON.stringify(def.data));
  page.setData = function (patch) {
    Object.keys(patch).forEach((key) => {
      const parts = key.split('.');
      let o = this.data;
      for (let i = 0; i < parts.length - 1; i++) {
        if (typeof o[parts[i]] !== 'object' || o[parts[i]] === null) { o[parts[i]] = {}; }
        o = o[parts[i]];
      }
      o[parts[parts.length - 1]] = JSON.parse(JSON.stringify(patch[key] === undefined ? null : patch[key]));
    });
  };
};
// The page requires '../../realname' and '../../config' as a Mini Program
// resolves them; Node does the same from the file's directory.
require(path.join(example, 'pages/verify/verify.js'));
if (!page) { fail('the page did not call Page()'); }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function idle(what) {
  for (let i = 0; i < 600; i++) {
    await sleep(20);
    if (!page.data.busy && (!toast || toast.kind !== 'loading')) { return; }
  }
  fail(what + ': still busy after 12 s');
}
// settled waits until every call the page made has been answered and the
// page has taken the answers in: what a fixed pause after onLoad guessed.
async function settled(what) {
  for (let i = 0; i < 600; i++) {
    await sleep(20);
    if (pending === 0) {
      await sleep(20); // the page's .then after the answer
      if (pending === 0) { return; }
    }
  }
  fail(what + ': calls still unanswered after 12 s');
}
const tap = (side) => page.choosePhoto({ currentTarget: { dataset: { side: side } } });

async function main() {
  page.onLoad();
  await settled('page load');
  if (page.data.state !== 'none') { fail('a new user starts at state none, got ' + JSON.stringify(page.data.state)); }

  // A photo before consent is refused where the user acted, for free.
  nextPhoto = frontPath;
  tap('front');
  await idle('photo without consent');
  if (page.data.errorWhere !== 'consent' || !page.data.error) {
    fail('no error under the consent box: ' + JSON.stringify([page.data.errorWhere, page.data.error]));
  }

  page.onConsentChange({ detail: { value: ['agree'] } });
  if (page.data.error) { fail('ticking the box did not clear the error'); }
  // The back photographed for the front: filed as the back, with a warning
  // that goes once the front is in.
  nextPhoto = backPath;
  tap('front');
  await idle('back for the front');
  if (page.data.back.photo !== backPath) { fail('the back was not moved to its side: ' + JSON.stringify(page.data.back)); }
  const wrongSide = '照片与所选的证件面不一致';
  const warnedWrongSide = page.data.warnings.indexOf(wrongSide) >= 0;
  nextPhoto = frontPath;
  tap('front');
  await idle('front upload');
  if (page.data.warnings.indexOf(wrongSide) >= 0) {
    fail('the wrong-side warning stayed after the right side was uploaded: ' + JSON.stringify(page.data.warnings));
  }
  if (page.data.error) { fail('front upload: ' + JSON.stringify([page.data.errorWhere, page.data.error])); }
  if (page.data.front.photo !== frontPath || page.data.state !== 'recognized') {
    fail('front: ' + JSON.stringify({ state: page.data.state, front: page.data.front }));
  }

  // A file that is no image: the error is said under the photos, as a toast
  // that survives the loading indicator, with no request id (the user can
  // fix it); the earlier preview stays.
  nextPhoto = junkPath;
  tap('front');
  await idle('junk upload');
  if (page.data.errorWhere !== 'photo' || !page.data.error) { fail('junk: ' + JSON.stringify([page.data.errorWhere, page.data.error])); }
  if (page.data.supportId) { fail('a request id is shown for a user mistake: ' + page.data.supportId); }
  if (!toast || toast.kind !== 'toast' || toast.title !== page.data.error) {
    fail('the error is not a toast: ' + JSON.stringify(toast));
  }
  if (page.data.front.photo !== frontPath) { fail('the preview of the front was lost: ' + page.data.front.photo); }

  // The back again, on its own side: the same photo, read for free.
  nextPhoto = backPath;
  tap('back');
  await idle('back upload');
  if (page.data.error) { fail('back upload left an error: ' + JSON.stringify([page.data.errorWhere, page.data.error])); }
  if (!warnedWrongSide) { console.log('driver: note: the server did not warn about the wrong side'); }
  if (page.data.state !== 'recognized') { fail('after both sides: ' + page.data.state); }
  if (!page.data.name || page.data.idNumber.length !== 18 || page.data.idNumber.indexOf('*') >= 0) {
    fail('the confirmation is not prefilled: ' + JSON.stringify([page.data.name, page.data.idNumber]));
  }
  if (!page.data.front.rows.length || !page.data.back.rows.length) { fail('the reading is not shown'); }

  // A changed name is asked about before any paid check, like a changed
  // number; the number typed in groups, as printed, is the same number.
  const readName = page.data.name;
  const readNumber = page.data.idNumber;
  const grouped = readNumber.slice(0, 6) + ' ' + readNumber.slice(6, 14) + ' ' + readNumber.slice(14);
  page.onNameInput({ detail: { value: readName.slice(0, 1) + '某某' } });
  page.onIDInput({ detail: { value: grouped } });
  modalAnswer = false;
  const modalsBefore = modals.length;
  page.onSubmitTap();
  await idle('submit with another name');
  const asked = modals.slice(modalsBefore).find((m) => m.content && m.content.indexOf('姓名') >= 0);
  if (!asked || page.data.result) {
    fail('a changed name was not asked about: ' + JSON.stringify({ modals: modals.slice(modalsBefore), result: page.data.result, error: page.data.error }));
  }
  if (page.data.error) { fail('the number typed in groups was refused: ' + page.data.error); }
  modalAnswer = true;
  page.onNameInput({ detail: { value: readName } });

  // One tap when the reading is right (the grouped number is the one read):
  // the page sends {}.
  page.onSubmitTap();
  await idle('submit');
  if (!page.data.result || page.data.result.state !== 'verified' || page.data.result.title !== '认证成功') {
    fail('submit: ' + JSON.stringify({ result: page.data.result, error: page.data.error }));
  }
  if (!page.data.result.reason) { fail('no message for the person'); }

  // A restart of the page resumes where the user stands.
  const before = page.data.result;
  page.data.result = null;
  page.onLoad();
  await settled('page load');
  if (!page.data.result || page.data.result.state !== before.state) { fail('reload: ' + JSON.stringify(page.data.result)); }

  // Erasure: the erased state, not the old result.
  modalAnswer = true;
  page.erase();
  for (let i = 0; i < 300 && page.data.state !== 'erased'; i++) { await sleep(20); }
  if (page.data.state !== 'erased' || !page.data.result || page.data.result.title !== '认证信息已删除') {
    fail('after erasure: ' + JSON.stringify({ state: page.data.state, result: page.data.result, error: page.data.error }));
  }
  console.log('driver: ok (' + loginCount + ' login, ' + modals.length + ' modal)');
}

// mainFace walks the face step (REALNAME_FACE=required): consent, photos,
// submit {} → the face step; its own consent; an old base library; a
// cancel said in words with a retry; the retry with a new verify_id passes.
async function photosAndSubmit() {
  page.onLoad();
  await settled('page load');
  page.onConsentChange({ detail: { value: ['agree'] } });
  nextPhoto = frontPath;
  tap('front');
  await idle('front upload');
  nextPhoto = backPath;
  tap('back');
  await idle('back upload');
  if (page.data.state !== 'recognized') { fail('after both sides: ' + page.data.state + ' ' + page.data.error); }
  page.onSubmitTap();
  await idle('submit');
}

async function mainFace() {
  await photosAndSubmit();
  const fs0 = page.data.faceStep;
  if (page.data.state !== 'face_pending' || !fs0 || fs0.asking || fs0.retry || page.data.result || !page.data.message) {
    fail('submit did not show the face step: ' + JSON.stringify({ state: page.data.state, faceStep: fs0, message: page.data.message, error: page.data.error }));
  }
  if (fs0.canDecline) { fail('required mode offers to decline the face check'); }

  // Without its own consent nothing starts; the error is under the step.
  page.onFaceTap();
  await idle('face without consent');
  if (page.data.errorWhere !== 'face' || page.data.error.indexOf('人脸核身告知') < 0 || faceStarts.length) {
    fail('face without consent: ' + JSON.stringify([page.data.errorWhere, page.data.error, faceStarts]));
  }
  page.onFaceConsentChange({ detail: { value: ['agree'] } });
  if (page.data.error) { fail('ticking the face consent did not clear the error'); }

  // An old base library has no wx.requestFacialVerify: said, nothing spent.
  const requestFacialVerify = wx.requestFacialVerify;
  delete wx.requestFacialVerify;
  page.onFaceTap();
  await idle('face on an old base library');
  if (page.data.errorWhere !== 'face' || page.data.error.indexOf('3.8.12') < 0 || faceStarts.length) {
    fail('old base library: ' + JSON.stringify([page.data.errorWhere, page.data.error, faceStarts]));
  }
  wx.requestFacialVerify = requestFacialVerify;

  // faceRound taps the button, the capture ends with ret, and the page
  // asks the server for the result.
  const faceRound = async (ret, what) => {
    const before = faceResults;
    faceRet = ret;
    page.onFaceTap();
    for (let i = 0; i < 600 && faceResults === before; i++) { await sleep(20); }
    if (faceResults === before) { fail(what + ': the page did not ask for the result: ' + JSON.stringify([page.data.error, faceStarts])); }
    await idle(what);
  };

  // The user cancels: still the face step, the cause in words, a retry.
  await faceRound(90002, 'cancelled face check');
  if (!faceStarts[0] || faceStarts[0].consent_version !== 'face-v1') { fail('the first POST /face lacked the consent: ' + JSON.stringify(faceStarts)); }
  const fs1 = page.data.faceStep;
  if (page.data.state !== 'face_pending' || !fs1 || !fs1.retry || fs1.asking || page.data.message.indexOf('取消') < 0 || page.data.error) {
    fail('after a cancel: ' + JSON.stringify({ state: page.data.state, faceStep: fs1, message: page.data.message, error: page.data.error }));
  }
  if (!page.data.faceConsented) { fail('the face consent is asked again after it was given'); }

  // The retry gets a new verify_id, sends no consent, and passes.
  await faceRound(10000, 'face check passed');
  if (faceIds.length !== 2 || faceIds[0] === faceIds[1]) { fail('the retry did not get a new verify_id: ' + JSON.stringify(faceIds)); }
  if (faceStarts.length !== 2 || faceStarts[1].consent_version) { fail('the consent was sent again: ' + JSON.stringify(faceStarts)); }
  if (!page.data.result || page.data.result.state !== 'verified' || page.data.result.title !== '认证成功' || !page.data.result.reason || page.data.faceStep) {
    fail('after a passed face check: ' + JSON.stringify({ result: page.data.result, faceStep: page.data.faceStep, error: page.data.error }));
  }
  console.log('driver: face ok (' + faceIds.length + ' face checks, ' + faceResults + ' result calls)');
}

// mainDecline: in fallback mode a case the name/ID check could not decide
// (no record) offers the face check, and the user may send it to staff.
async function mainDecline() {
  await photosAndSubmit();
  const f = page.data.faceStep;
  if (page.data.state !== 'face_pending' || !f || !f.canDecline || !page.data.message) {
    fail('no_record in fallback mode: ' + JSON.stringify({ state: page.data.state, faceStep: f, message: page.data.message, error: page.data.error }));
  }
  const modalsBefore = modals.length;
  modalAnswer = true;
  page.onFaceDecline();
  for (let i = 0; i < 300 && !page.data.result; i++) { await sleep(20); }
  await idle('decline');
  if (modals.length !== modalsBefore + 1) { fail('declining was not asked about'); }
  if (!page.data.result || page.data.result.state !== 'review' || page.data.result.title !== '已提交人工审核' || !page.data.result.reason || page.data.faceStep) {
    fail('after declining: ' + JSON.stringify({ result: page.data.result, faceStep: page.data.faceStep, error: page.data.error }));
  }
  if (faceStarts.length) { fail('declining started a face check'); }
  console.log('driver: decline ok');
}

(!sandboxURL ? main() : faceMode === 'fallback' ? mainDecline() : mainFace()).catch((err) => fail(err.stack || String(err)));
