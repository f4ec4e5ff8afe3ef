// pages/verify: the whole real-name flow on one page.
//   1. the personal-data notice and a separate consent checkbox (PIPL 单独同意)
//   2. photos of both sides: wx.chooseMedia → wx.uploadFile (realname.js)
//   3. the reading, prefilled in a confirmation form: one tap when it is right
//   4. submit with an Idempotency-Key, and the decision
//   5. when the server asks for it (next_action "face"), the face check
//      (人脸核身): its own notice and consent, wx.requestFacialVerify, and
//      the verdict, which only the server reads from WeChat (face.js)
// An error is said where the user acted (a toast, and a line under that
// section until the next action); a request id only when support needs it.
const realname = require('../../realname');
const face = require('./face');
const { CONSENT_VERSION, FACE_CONSENT_VERSION, REVIEW_TEMPLATE_ID } = require('../../config');

// The card's fields a confirm_correction names.
const FIELD_TEXT = { name: '姓名', id_number: '身份证号', birth: '出生日期', sex: '性别' };

// What the user reads for each stable error code of the API.
const ERROR_TEXT = {
  network: '网络异常，请检查网络后重试',
  wx_login_failed: '微信登录失败，请重试',
  invalid_code: '登录失败，请重试',
  rate_limited: '登录过于频繁，请一分钟后再试',
  risky_user: '当前微信账号暂不能进行认证',
  unauthorized: '登录已失效，请重试',
  consent_required: '请先阅读并勾选同意《个人信息处理告知》',
  consent_outdated: '告知内容已更新，请重新阅读并勾选同意',
  unsupported_image: '请选择 JPG 或 PNG 格式的照片',
  image_invalid: '照片无法识别，请重新拍摄',
  image_required: '请先选择照片',
  body_too_large: '照片太大，请重新拍摄',
  not_an_id_card: '未识别到身份证，请将证件完整放入画面后重新拍摄',
  ocr_unavailable: '识别服务繁忙，请稍后再试',
  upstream_unavailable: '服务繁忙，请稍后再试',
  service_unavailable: '服务繁忙，请稍后再试',
  timeout: '请求超时，请稍后再试',
  side_missing: '请先拍摄身份证人像面和国徽面',
  already_verified: '您已完成实名认证',
  invalid_state: '认证正在处理中，请稍后刷新',
  verification_erased: '您的认证信息已删除，如需认证请重新开始',
  no_verification: '请先拍摄身份证',
  name_invalid: '姓名格式不正确',
  id_number_invalid: '身份证号码有误，请逐位核对',
  too_many_attempts: '今日尝试次数已用完，请明天再试',
  idempotency_in_progress: '正在提交，请稍候',
  face_consent_required: '请先阅读并勾选同意《人脸核身告知》',
  face_not_enabled: '暂未开通人脸核身',
  face_not_started: '请先开始人脸核身',
  face_unavailable: '人脸核身服务暂时不可用，请稍后重试'
};

// What each decision reason means for the user.
const REASON_TEXT = {
  name_id_mismatch: '姓名与身份证号不一致',
  id_number_invalid: '身份证号码无效',
  name_invalid: '姓名无效',
  card_expired: '身份证已过有效期',
  under_min_age: '未达到最低年龄要求',
  no_record: '未查询到该身份信息，已转人工审核',
  source_unavailable: '核验服务暂不可用，已转人工审核',
  id_already_bound: '该身份证已绑定其他账号，已转人工审核',
  ocr_mismatch: '身份证号与证件上的出生日期或性别不一致，已转人工审核',
  interrupted: '核验中断，已转人工审核',
  face_id_mismatch: '人脸核身未通过：姓名与身份证号不一致',
  face_mismatch: '人脸核身未通过：不是证件持有人本人'
};

// Doubts the OCR raised about a photo.
const WARNING_TEXT = {
  wrong_side: '照片与所选的证件面不一致',
  other_side_than_announced: '照片与所选的证件面不一致',
  blurred: '照片模糊',
  glare: '照片反光或过曝',
  dark: '照片过暗',
  card_expired: '证件已过有效期',
  id_number_invalid: '证件号码无法识别',
  id_birth_mismatch: '证件号码与出生日期不符',
  id_sex_mismatch: '证件号码与性别不符',
  image_status_unknown: '照片质量存疑'
};

const RESULT_TITLE = { verified: '认证成功', rejected: '认证未通过', review: '已提交人工审核', erased: '认证信息已删除', revoked: '认证已撤销' };

const FIELD_ROWS = [
  ['name', '姓名'], ['sex', '性别'], ['ethnicity', '民族'], ['birth', '出生'], ['address', '住址'],
  ['id_number', '公民身份号码'], ['authority', '签发机关'], ['valid_from', '有效期起'], ['valid_to', '有效期至']
];

const MAX_PHOTO_BYTES = 10 * 1024 * 1024; // the server's default REALNAME_MAX_UPLOAD_BYTES

// rows turns masked fields into label/value pairs for the template.
function rows(fields) {
  if (!fields) { return []; }
  const out = [];
  FIELD_ROWS.forEach(([key, label]) => {
    if (fields[key]) { out.push({ label: label, value: fields[key] }); }
  });
  if (fields.long_term) { out.push({ label: '有效期至', value: '长期' }); }
  return out;
}

Page(Object.assign({
  data: {
    consentVersion: CONSENT_VERSION,
    agreed: false,
    front: { photo: '', rows: [], uploaded: false },
    back: { photo: '', rows: [], uploaded: false },
    state: '',
    missing: [],
    warnings: [],
    attemptsLeft: null,
    name: '',
    idNumber: '',
    busy: false,
    privacyPopup: false,
    message: '',
    result: null,
    // error is the text of the last failure ('' for none); errorWhere
    // (consent, photo, confirm, face or page) puts it under that section;
    // supportId is the request id, shown in small print only for failures
    // the user cannot fix themselves.
    error: '',
    errorWhere: '',
    supportId: '',
    // The face step (face.js): null until the server asks for it.
    faceText: face.FACE_TEXT,
    faceConsentVersion: FACE_CONSENT_VERSION,
    faceStep: null,
    faceAgreed: false,
    faceConsented: false // the server holds the consent: send it no more
  },

  onLoad() {
    this.pendingSubmit = null; // {key, body} of a submit whose answer never arrived
    // Before a privacy API (chooseMedia) WeChat needs the user to accept the
    // 用户隐私保护指引 declared in the console; it calls this when they have
    // not, and the page shows its popup, whose agree button has
    // open-type="agreePrivacyAuthorization" as WeChat requires.
    if (wx.onNeedPrivacyAuthorization) {
      wx.onNeedPrivacyAuthorization((resolve) => {
        this.privacyResolve = resolve;
        this.setData({ privacyPopup: true });
      });
    }
    this.refresh();
  },

  onAgreePrivacy() {
    if (this.privacyResolve) { this.privacyResolve({ buttonId: 'agree-privacy', event: 'agree' }); }
    this.privacyResolve = null;
    this.setData({ privacyPopup: false });
  },

  onDisagreePrivacy() {
    if (this.privacyResolve) { this.privacyResolve({ event: 'disagree' }); }
    this.privacyResolve = null;
    this.setData({ privacyPopup: false });
  },

  openPrivacyGuide() {
    if (wx.openPrivacyContract) { wx.openPrivacyContract({}); }
  },

  onPullDownRefresh() {
    this.refresh().then(() => wx.stopPullDownRefresh());
  },

  // refresh shows where the user stands, so the page resumes after a restart.
  refresh() {
    return realname.request('GET', '/api/v1/verification')
      .then((view) => this.applyView(view))
      .catch((err) => this.showError(err, 'page'));
  },

  onConsentChange(e) {
    this.setData({ agreed: e.detail.value.length > 0 });
    this.clearError();
  },

  // choosePhoto takes one side with the camera (or from the album).
  choosePhoto(e) {
    const side = e.currentTarget.dataset.side;
    if (!this.data.agreed) {
      this.say('consent', ERROR_TEXT.consent_required);
      return;
    }
    if (this.data.busy) { return; }
    // The camera and album are privacy APIs: since base library 2.32.3 the
    // user must accept the Mini Program's 用户隐私保护指引 first.
    // wx.requirePrivacyAuthorize shows WeChat's own prompt when needed (via
    // onNeedPrivacyAuthorization in app.js) and fails if they decline.
    if (wx.requirePrivacyAuthorize) {
      wx.requirePrivacyAuthorize({
        success: () => this.openCamera(side),
        fail: () => this.say('photo', '需要同意隐私保护指引后才能拍摄身份证')
      });
      return;
    }
    this.openCamera(side);
  },

  openCamera(side) {
    wx.chooseMedia({
      count: 1,
      mediaType: ['image'],
      sourceType: ['camera', 'album'],
      sizeType: ['compressed'],
      camera: 'back',
      success: (res) => {
        const file = res.tempFiles[0];
        if (file.size > MAX_PHOTO_BYTES) {
          this.say('photo', ERROR_TEXT.body_too_large);
          return;
        }
        this.upload(side, file.tempFilePath);
      },
      fail: (res) => {
        if (res.errMsg && res.errMsg.indexOf('cancel') < 0) {
          this.say('photo', '无法打开相机或相册，请在设置中允许使用相机后重试');
        }
      }
    });
  },

  upload(side, filePath) {
    // The photo shown before this one stays if this one is refused: the
    // server still holds the earlier one for that side.
    const before = this.data[side].photo;
    this.clearError();
    this.setData({ busy: true, [side + '.photo']: filePath });
    wx.showLoading({ title: '识别中', mask: true });
    // consent_version goes with every upload: the server records the
    // agreement on the first one and checks the version on all of them.
    realname.uploadIDCard(filePath, side, CONSENT_VERSION)
      .then((view) => {
        // The server files a photo under the side it shows, whatever was
        // announced; move the preview if the user took the other side.
        const other = side === 'front' ? 'back' : 'front';
        if (!view[side] && view[other]) {
          this.setData({ [side + '.photo']: '', [other + '.photo']: filePath });
        }
        // The answer to the user's own upload shows the reading in full
        // (REALNAME_ECHO_READING=full): prefill the confirmation, so a right
        // reading is one tap. Nothing else the API returns is unmasked.
        if (view.front && view.front.id_number && view.front.id_number.indexOf('*') < 0) {
          this.reading = { name: view.front.name || '', idNumber: view.front.id_number };
          this.setData({ name: this.reading.name, idNumber: this.reading.idNumber });
        }
        this.applyView(view);
        this.done();
      }, (err) => {
        this.setData({ [side + '.photo']: before });
        this.done();
        this.showError(err, 'photo');
      });
  },

  // done ends a request's loading state. It runs before an error is said:
  // hiding the loading toast later would hide the error's toast too.
  done() {
    wx.hideLoading();
    this.setData({ busy: false });
  },

  applyView(view) {
    const done = view.state === 'verified' || view.state === 'rejected' || view.state === 'review' ||
      view.state === 'erased' || view.state === 'revoked';
    const missing = view.missing || [];
    this.setData({
      state: view.state,
      'front.rows': rows(view.front),
      'back.rows': rows(view.back),
      // After a restart of the page the photos are gone from the device
      // (temporary files) but not from the server: say the side is done.
      'front.uploaded': !!view.front || (view.state === 'draft' && missing.indexOf('front') < 0),
      'back.uploaded': !!view.back || (view.state === 'draft' && missing.indexOf('back') < 0),
      missing: missing,
      // Once both sides are in, a photo taken of the other side was filed
      // where it belongs: its wrong_side warning no longer applies.
      warnings: (view.warnings || [])
        .filter((w) => !(w === 'wrong_side' && view.front && view.back))
        .map((w) => WARNING_TEXT[w] || w)
        .filter((w, i, all) => all.indexOf(w) === i),
      attemptsLeft: view.attempts_left,
      message: view.message || '',
      faceStep: face.step(view),
      faceConsented: this.data.faceConsented || face.consented(view),
      result: done ? {
        state: view.state,
        title: RESULT_TITLE[view.state],
        // The server's words for the reason and what to do next.
        reason: view.message || (view.reason ? (REASON_TEXT[view.reason] || view.reason) : '')
      } : null
    });
  },

  onSubmitTap() { this.submit(false); },
  onNameInput(e) { this.setData({ name: e.detail.value }); },
  onIDInput(e) { this.setData({ idNumber: e.detail.value }); },

  // submit confirms the reading: {} when the user changed nothing, else
  // only the fields they corrected. A correction that contradicts the card
  // is asked about (409 confirm_correction) before anything is paid.
  submit(confirm) {
    if (this.data.busy) { return; }
    const name = this.data.name.trim();
    // The number is often typed in groups, as people read it: blanks go.
    const idNumber = this.data.idNumber.replace(/\s+/g, '').toUpperCase();
    const read = this.reading || { name: '', idNumber: '' };
    const claim = {};
    if (name !== read.name) { claim.name = name; }
    if (idNumber !== read.idNumber) { claim.id_number = idNumber; }
    if (confirm === true) { claim.confirm = true; }
    if (!name || idNumber.length !== 18) {
      this.say('confirm', '请填写姓名和 18 位身份证号');
      return;
    }
    // Ask, in the tap, for the one-time subscription to the review result
    // (a message when staff decide); the answer does not hold the submit up.
    if (REVIEW_TEMPLATE_ID && confirm !== true) {
      wx.requestSubscribeMessage({ tmplIds: [REVIEW_TEMPLATE_ID], complete: () => {} });
    }
    // A new key per attempt; the same key only when the very same request
    // is sent again after its answer was lost, so a retry is never charged twice.
    const body = JSON.stringify(claim);
    if (!this.pendingSubmit || this.pendingSubmit.body !== body) {
      this.pendingSubmit = { key: realname.newIdempotencyKey(), body: body };
    }
    this.clearError();
    this.setData({ busy: true });
    wx.showLoading({ title: '核验中', mask: true });
    realname.request('POST', '/api/v1/verification/submit', claim, { 'Idempotency-Key': this.pendingSubmit.key })
      .then((view) => {
        this.pendingSubmit = null;
        this.done();
        this.applyView(view);
      }, (err) => {
        this.done();
        if (err.code !== 'network') { this.pendingSubmit = null; }
        if (err.code === 'confirm_correction') {
          wx.showModal({
            title: '请再核对一次',
            content: '您填写的信息与证件上识别的不一致（' + (err.fields || []).map((f) => FIELD_TEXT[f] || f).join('、') + '）。确认无误后继续提交？',
            confirmText: '确认提交',
            success: (res) => { if (res.confirm) { setTimeout(() => this.submit(true), 0); } }
          });
          return;
        }
        this.showError(err, 'confirm');
      });
  },

  // restart clears the page after a rejection; the next upload opens a new
  // verification on the server.
  restart() {
    this.reading = null;
    this.clearError();
    this.setData({
      state: '', result: null, name: '', idNumber: '', warnings: [], missing: [],
      // After an erasure the face consent may be gone too: ask again.
      faceStep: null, faceAgreed: false, faceConsented: false,
      front: { photo: '', rows: [], uploaded: false }, back: { photo: '', rows: [], uploaded: false }
    });
  },

  // erase deletes the user's photos and personal fields on the server.
  erase() {
    wx.showModal({
      title: '删除认证信息',
      content: '将删除您上传的身份证照片和身份信息，确定吗？',
      success: (res) => {
        if (!res.confirm) { return; }
        realname.request('DELETE', '/api/v1/verification')
          .then(() => {
            wx.showToast({ title: '已删除', icon: 'success' });
            // The page shows what the server now holds: the erased state,
            // not the result that was on screen.
            this.restart();
            return this.refresh();
          }, (err) => this.showError(err, 'page'));
      }
    });
  },

  // say shows text under the section where the user acted, and as a toast.
  say(where, text, supportId) {
    this.setData({ error: text, errorWhere: where, supportId: supportId || '' });
    if (wx.showToast) { wx.showToast({ title: text, icon: 'none', duration: 3000 }); }
  },

  clearError() {
    if (this.data.error) { this.setData({ error: '', errorWhere: '', supportId: '' }); }
  },

  // showError tells the user what to do, by the server's stable code.
  showError(err, where) {
    let text = ERROR_TEXT[err.code] || err.message || '出错了，请重试';
    switch (err.code) {
      case 'consent_required':
      case 'consent_outdated':
        this.setData({ agreed: false }); // show the notice and ask again
        break;
      case 'face_consent_required':
        this.setData({ faceAgreed: false, faceConsented: false });
        break;
      case 'too_many_attempts':
        // The day's attempts come back at midnight China time, not after a
        // number of hours the user would have to count.
        text = '今日尝试次数已用完，请明天（0 点后）再试';
        break;
      case 'already_verified':
      case 'invalid_state':
      case 'verification_erased':
        this.refresh();
        break;
      case 'unauthorized':
        realname.forgetSession(); // the next action logs in again
        break;
      default:
    }
    // The request id helps support find a server-side failure; for a
    // mistake the user can fix it is noise.
    const forSupport = err.statusCode >= 500 || !ERROR_TEXT[err.code];
    this.say(where || 'page', text, forSupport ? err.requestId : '');
  }
}, face.methods));
