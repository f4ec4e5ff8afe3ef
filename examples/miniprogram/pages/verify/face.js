// The face step of pages/verify (人脸核身), mixed into the page. The server
// asks for it with next_action "face" (REALNAME_FACE=required, or fallback
// when the name/ID check could not decide). The order matters:
//   1. the face notice and its own consent (a face is biometric data: PIPL
//      asks for a separate consent), sent with the first POST /face only
//   2. POST /api/v1/verification/face → face.verify_id (one verify_id is one
//      attempt: a retry asks for a new one)
//   3. wx.requestFacialVerify({verifyId}); its success means only that the
//      capture finished, so whatever it says, complete asks the server
//   4. POST /api/v1/verification/face/result: the server asks WeChat and
//      decides; next_action "face_result" means ask again shortly
const realname = require('../../realname');

const FACE_TEXT = {
  title: '人脸核身',
  notice: '为确认您是证件持有人本人，微信将采集您的人脸图像，并与权威数据源中您的证件照片比对。人脸信息属于敏感个人信息（生物识别信息），由微信采集和比对，我们不接收、不保存您的人脸图像，只保存核身结果及时间。',
  consent: '我已阅读并单独同意上述人脸信息处理',
  consented: '您已同意人脸核身告知',
  start: '开始人脸核身',
  retry: '重新进行人脸核身',
  ask: '查询核身结果',
  decline: '不进行人脸核身，转人工审核',
  decline_title: '转人工审核',
  decline_text: '将不进行人脸核身，改由工作人员审核，结果会通知您。确定吗？',
  starting: '准备中',
  checking: '查询结果中',
  unsupported: '当前微信版本过低，无法进行人脸核身，请升级微信后重试（需基础库 3.8.12 及以上）',
  privacy: '需要同意隐私保护指引后才能进行人脸核身'
};

// While WeChat is still comparing (next_action "face_result") the page asks
// again FACE_POLLS times in all, FACE_POLL_MS apart, then leaves a button.
const FACE_POLLS = 4;
const FACE_POLL_MS = 2000;

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// step is what the page shows of the face step for a view, or null.
function step(view) {
  if (view.state !== 'face_pending') { return null; }
  const f = view.face || {};
  return {
    // A started check whose result was never read (the page was closed
    // during the capture, or WeChat is still comparing): ask for it first.
    asking: view.next_action === 'face_result' || !!f.verify_id,
    retry: !!f.last, // the last attempt did not finish: a new one may start
    // A reason on face_pending is fallback mode (the name/ID check could not
    // decide): the user may send the case to staff instead.
    canDecline: !!view.reason
  };
}

// consented reports whether the view shows an earlier face check, which
// the server started only after recording the consent.
function consented(view) {
  const f = view.face || {};
  return view.state === 'face_pending' && !!(f.verify_id || f.last);
}

const methods = {
  onFaceConsentChange(e) {
    this.setData({ faceAgreed: e.detail.value.length > 0 });
    this.clearError();
  },

  onFaceTap() {
    if (this.data.busy || !this.data.faceStep) { return; }
    if (this.data.faceStep.asking) { this.askFaceResult(); return; }
    if (!this.data.faceConsented && !this.data.faceAgreed) {
      this.showError({ code: 'face_consent_required' }, 'face');
      return;
    }
    // Base library < 3.8.12 has no wx.requestFacialVerify: say so before
    // a verify_id (an attempt of the day) is spent.
    if (typeof wx.requestFacialVerify !== 'function') {
      this.say('face', FACE_TEXT.unsupported);
      return;
    }
    // The capture uses the camera: the user accepts the 用户隐私保护指引
    // first, as for the photos.
    if (wx.requirePrivacyAuthorize) {
      wx.requirePrivacyAuthorize({
        success: () => this.startFace(),
        fail: () => this.say('face', FACE_TEXT.privacy)
      });
      return;
    }
    this.startFace();
  },

  startFace() {
    const body = this.data.faceConsented ? {} : { consent_version: this.data.faceConsentVersion };
    this.clearError();
    this.setData({ busy: true });
    wx.showLoading({ title: FACE_TEXT.starting, mask: true });
    realname.request('POST', '/api/v1/verification/face', body).then((view) => {
      this.done();
      this.setData({ faceConsented: true });
      this.applyView(view);
      if (!view.face || !view.face.verify_id) { return; }
      wx.requestFacialVerify({
        verifyId: view.face.verify_id,
        // Cancelled, failed or done: the server reads the verdict from WeChat.
        complete: () => this.askFaceResult()
      });
    }, (err) => {
      this.done();
      this.showError(err, 'face');
    });
  },

  askFaceResult() {
    this.clearError();
    this.setData({ busy: true });
    wx.showLoading({ title: FACE_TEXT.checking, mask: true });
    const ask = (n) => realname.request('POST', '/api/v1/verification/face/result', {}).then((view) =>
      (view.next_action === 'face_result' && n < FACE_POLLS ? wait(FACE_POLL_MS).then(() => ask(n + 1)) : view));
    return ask(1).then((view) => {
      this.done();
      this.applyView(view);
    }, (err) => {
      this.done();
      this.showError(err, 'face');
    });
  },

  // onFaceDecline sends the case to staff instead (fallback mode only).
  onFaceDecline() {
    if (this.data.busy) { return; }
    wx.showModal({
      title: FACE_TEXT.decline_title,
      content: FACE_TEXT.decline_text,
      success: (res) => {
        if (!res.confirm) { return; }
        this.clearError();
        this.setData({ busy: true });
        realname.request('POST', '/api/v1/verification/face/decline', {}).then((view) => {
          this.done();
          this.applyView(view);
        }, (err) => {
          this.done();
          this.showError(err, 'face');
        });
      }
    });
  }
};

module.exports = { FACE_TEXT: FACE_TEXT, step: step, consented: consented, methods: methods };
