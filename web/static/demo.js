// The sandbox demo at /demo: what the Mini Program's user sees, on a
// phone-width page, with the same steps and texts as
// examples/miniprogram/pages/verify (a test keeps the Chinese tables equal
// to the example's), against the same JSON API. The developer panel beside
// it shows the requests, the raw answers and the synthetic sample cards.
// Everything the server sends goes on the page with textContent, never
// innerHTML; handlers are attached here, so a strict CSP holds.
(function () {
  'use strict';

  var TEXT = {
    'zh-CN': {
      // The example's tables, word for word.
      ERROR_TEXT: {
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
      },
      REASON_TEXT: {
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
      },
      WARNING_TEXT: {
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
      },
      // The example's FACE_TEXT (pages/verify/face.js).
      FACE_TEXT: {
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
      },
      RESULT_TITLE: { verified: '认证成功', rejected: '认证未通过', review: '已提交人工审核', erased: '认证信息已删除', revoked: '认证已撤销' },
      FIELD_TEXT: { name: '姓名', id_number: '身份证号', birth: '出生日期', sex: '性别' },
      FIELDS: { name: '姓名', sex: '性别', ethnicity: '民族', birth: '出生', address: '住址', id_number: '公民身份号码', authority: '签发机关', valid_from: '有效期起', valid_to: '有效期至', long_term: '长期' },
      UI: {
        'page.title': '实名认证',
        'consent.title': '个人信息处理告知',
        'consent.text': '为完成实名认证，我们将收集您的身份证人像面和国徽面照片、姓名及身份证号码。上述信息属于敏感个人信息，仅用于向权威数据源核验您的身份，加密存储，照片在认证完成后按期删除，您可随时在本页删除。',
        'consent.label': '我已阅读并单独同意上述敏感个人信息处理（版本 {v}）',
        'photos.title': '拍摄身份证',
        'photos.front': '拍摄人像面',
        'photos.back': '拍摄国徽面',
        'photos.front_done': '人像面已上传，点按重拍',
        'photos.back_done': '国徽面已上传，点按重拍',
        'photos.front_caption': '人像面 · 点按重拍',
        'photos.back_caption': '国徽面 · 点按重拍',
        'reading.title': '识别结果',
        'confirm.title': '确认身份信息',
        'confirm.hint': '请对照证件核对识别结果，有误时直接修改。',
        'confirm.name': '姓名',
        'confirm.id': '身份证号',
        'confirm.left': '今日还可提交 {n} 次',
        'confirm.submit': '提交认证',
        'confirm.fill': '请填写姓名和 18 位身份证号',
        'confirm.recheck': '请再核对一次',
        'confirm.recheck_text': '您填写的信息与证件上识别的不一致（{fields}）。确认无误后继续提交？',
        'confirm.recheck_ok': '确认提交',
        'checking': '核验中，请稍后下拉刷新',
        'result.restart': '重新认证',
        'erase.link': '删除我的认证信息',
        'erase.title': '删除认证信息',
        'erase.text': '将删除您上传的身份证照片和身份信息，确定吗？',
        'erase.done': '已删除',
        'loading.upload': '识别中',
        'loading.submit': '核验中',
        'error.generic': '出错了，请重试',
        'error.support': '如需联系客服，请提供编号 {id}',
        'error.too_many': '今日尝试次数已用完，请明天（0 点后）再试',
        'error.too_large': '照片太大，请重新拍摄',
        'modal.cancel': '取消',
        'modal.ok': '确定',
        'sheet.title': '选择照片',
        'sheet.file': '从相册选择',
        'sheet.junk': '一张不是证件的照片',
        'sheet.cancel': '取消',
        'sheet.sample': '示例证件：{key}',
        'face.version': '（版本 {v}）',
        'face.sheet_title': '微信人脸核身（沙箱）',
        'face.sheet_hint': '沙箱里没有摄像头：请选择微信客户端的核身结果，演示页会告诉沙箱，再向服务器查询结果。',
        'face.pass': '通过',
        'face.other': '不是本人',
        'face.cancel': '取消',
        'dev.title': '开发者视图',
        'dev.intro': '沙箱模式：微信和各服务商都是进程内的模拟服务。本页调用与 examples/miniprogram 相同的接口。示例证件均为合成数据：虚构的人，生成的图片。以 REALNAME_FACE=required（或 fallback）启动可演示人脸核身，微信客户端的结果在弹出的选项中选择。',
        'dev.user': '当前用户（登录码）：{who}',
        'dev.new_user': '换一个新用户',
        'dev.samples': '示例证件（沙箱只识别这些）',
        'dev.sample': '示例',
        'dev.name': '合成姓名',
        'dev.number': '合成号码',
        'dev.check': '沙箱核验结果',
        'dev.requests': '请求',
        'dev.last_body': '最后一次响应'
      }
    },
    en: {
      ERROR_TEXT: {
        network: 'No network. Check the connection and try again.',
        wx_login_failed: 'WeChat sign-in failed. Try again.',
        invalid_code: 'Sign-in failed. Try again.',
        rate_limited: 'Too many sign-ins. Try again in a minute.',
        risky_user: 'This WeChat account cannot be verified right now.',
        unauthorized: 'The session has ended. Try again.',
        consent_required: 'Read the personal data notice and tick the box first.',
        consent_outdated: 'The notice has changed. Read it again and tick the box.',
        unsupported_image: 'Choose a JPG or PNG photo.',
        image_invalid: 'The photo cannot be read. Take it again.',
        image_required: 'Choose a photo first.',
        body_too_large: 'The photo is too large. Take it again.',
        not_an_id_card: 'No ID card found. Put the whole card in the frame and take the photo again.',
        ocr_unavailable: 'Recognition is busy. Try again later.',
        upstream_unavailable: 'The service is busy. Try again later.',
        service_unavailable: 'The service is busy. Try again later.',
        timeout: 'The request timed out. Try again later.',
        side_missing: 'Photograph both sides of the card first.',
        already_verified: 'You are already verified.',
        invalid_state: 'Your verification is being processed. Refresh later.',
        verification_erased: 'Your verification data was erased. Start again to verify.',
        no_verification: 'Photograph your ID card first.',
        name_invalid: 'The name is not in a valid form.',
        id_number_invalid: 'The ID number is wrong. Check it digit by digit.',
        too_many_attempts: 'No attempts left today. Try again tomorrow.',
        idempotency_in_progress: 'Submitting, one moment.',
        face_consent_required: 'Read the face check notice and tick its box first.',
        face_not_enabled: 'The face check is not enabled.',
        face_not_started: 'Start the face check first.',
        face_unavailable: 'The face check is unavailable right now. Try again later.'
      },
      REASON_TEXT: {
        name_id_mismatch: 'The name does not match the ID number.',
        id_number_invalid: 'The ID number is not valid.',
        name_invalid: 'The name is not valid.',
        card_expired: 'The ID card has expired.',
        under_min_age: 'You are under the minimum age.',
        no_record: 'The identity was not found; a person will review it.',
        source_unavailable: 'The check service is unavailable; a person will review it.',
        id_already_bound: 'This ID card is linked to another account; a person will review it.',
        ocr_mismatch: 'The number contradicts the birth date or sex on the card; a person will review it.',
        interrupted: 'The check was interrupted; a person will review it.',
        face_id_mismatch: 'The face check did not pass: the name and the ID number do not belong together.',
        face_mismatch: 'The face check did not pass: the face is not the card holder\'s.'
      },
      WARNING_TEXT: {
        wrong_side: 'The photo shows the other side of the card.',
        other_side_than_announced: 'The photo shows the other side of the card.',
        blurred: 'The photo is blurred.',
        glare: 'The photo has glare or is over-exposed.',
        dark: 'The photo is too dark.',
        card_expired: 'The card has expired.',
        id_number_invalid: 'The number on the card cannot be read.',
        id_birth_mismatch: 'The number does not match the birth date.',
        id_sex_mismatch: 'The number does not match the sex.',
        image_status_unknown: 'The photo quality is doubtful.'
      },
      FACE_TEXT: {
        title: 'Face check',
        notice: 'To confirm that you are the card holder, WeChat captures your face and compares it with the photo the authority holds for your ID card. A face is sensitive personal information (biometric data); WeChat captures and compares it, we never receive or keep the image, only the result and its time.',
        consent: 'I have read the notice and separately agree to this processing of my face',
        consented: 'You agreed to the face check notice',
        start: 'Start the face check',
        retry: 'Try the face check again',
        ask: 'Get the face check result',
        decline: 'Skip the face check; let a person review',
        decline_title: 'Review by a person',
        decline_text: 'Skip the face check and let staff review your verification? You will be told the result.',
        starting: 'Preparing',
        checking: 'Getting the result',
        unsupported: 'This WeChat is too old for the face check. Update WeChat and try again (base library 3.8.12 or later).',
        privacy: 'Accept the privacy guide to do the face check.'
      },
      RESULT_TITLE: { verified: 'Verified', rejected: 'Not verified', review: 'Sent for review', erased: 'Verification data erased', revoked: 'Verification revoked' },
      FIELD_TEXT: { name: 'name', id_number: 'number', birth: 'birth date', sex: 'sex' },
      FIELDS: { name: 'Name', sex: 'Sex', ethnicity: 'Ethnicity', birth: 'Born', address: 'Address', id_number: 'ID number', authority: 'Issued by', valid_from: 'Valid from', valid_to: 'Valid to', long_term: 'long term' },
      UI: {
        'page.title': 'Real-name verification',
        'consent.title': 'Personal data notice',
        'consent.text': 'To verify your real name we collect photos of both sides of your ID card, your name and your ID number. They are sensitive personal information, used only to check your identity with an authoritative source, stored encrypted; the photos are deleted after the decision, and you can erase everything on this page at any time.',
        'consent.label': 'I have read the notice and separately agree to this processing of sensitive personal data (version {v})',
        'photos.title': 'Photograph your ID card',
        'photos.front': 'Portrait side',
        'photos.back': 'Emblem side',
        'photos.front_done': 'Portrait side uploaded; tap to retake',
        'photos.back_done': 'Emblem side uploaded; tap to retake',
        'photos.front_caption': 'Portrait side · tap to retake',
        'photos.back_caption': 'Emblem side · tap to retake',
        'reading.title': 'What was read',
        'confirm.title': 'Confirm your details',
        'confirm.hint': 'Check the reading against your card; correct it where it is wrong.',
        'confirm.name': 'Name',
        'confirm.id': 'ID number',
        'confirm.left': '{n} submissions left today',
        'confirm.submit': 'Submit',
        'confirm.fill': 'Enter your name and the 18-character ID number.',
        'confirm.recheck': 'Please check again',
        'confirm.recheck_text': 'What you entered differs from the card ({fields}). Submit it anyway?',
        'confirm.recheck_ok': 'Submit',
        'checking': 'Checking; pull down to refresh in a moment.',
        'result.restart': 'Start again',
        'erase.link': 'Erase my verification data',
        'erase.title': 'Erase verification data',
        'erase.text': 'This deletes the photos of your ID card and your details. Continue?',
        'erase.done': 'Erased',
        'loading.upload': 'Reading',
        'loading.submit': 'Checking',
        'error.generic': 'Something went wrong. Try again.',
        'error.support': 'For support, quote {id}',
        'error.too_many': 'No attempts left today. Try again tomorrow (after midnight).',
        'error.too_large': 'The photo is too large. Take it again.',
        'modal.cancel': 'Cancel',
        'modal.ok': 'OK',
        'sheet.title': 'Choose a photo',
        'sheet.file': 'From the album',
        'sheet.junk': 'A photo that is not a card',
        'sheet.cancel': 'Cancel',
        'sheet.sample': 'Sample card: {key}',
        'face.version': ' (version {v})',
        'face.sheet_title': 'WeChat face check (sandbox)',
        'face.sheet_hint': 'The sandbox has no camera: choose what the WeChat client ends with; the demo tells the sandbox, then asks the server for the result.',
        'face.pass': 'Passed',
        'face.other': 'Not the holder',
        'face.cancel': 'Cancel',
        'dev.title': 'Developer view',
        'dev.intro': 'Sandbox mode: WeChat and the vendors are in-process fakes. This page makes the same API calls as examples/miniprogram. The sample cards are synthetic: invented people, generated images. Start with REALNAME_FACE=required (or fallback) to see the face check; a sheet stands in for the WeChat client.',
        'dev.user': 'User (login code): {who}',
        'dev.new_user': 'Start as a new user',
        'dev.samples': 'Sample cards (the only ones the sandbox reads)',
        'dev.sample': 'sample',
        'dev.name': 'synthetic name',
        'dev.number': 'synthetic number',
        'dev.check': 'sandbox check',
        'dev.requests': 'Requests',
        'dev.last_body': 'Last answer'
      }
    }
  };

  var MAX_PHOTO_BYTES = 10 * 1024 * 1024; // the server's default REALNAME_MAX_UPLOAD_BYTES
  var root = document.getElementById('demo');
  var lang = root.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN';
  var T = TEXT[lang];
  var consentVersion = root.getAttribute('data-consent-version') || '';
  var token = '';
  var who = '';
  var reading = null; // {name, idNumber} the last upload answer showed in full
  var pendingSubmit = null; // {key, body} of a submit whose answer never arrived
  var sheetSide = 'front';
  var samples = null;
  var state = '';

  function $(id) { return document.getElementById(id); }
  function ui(key, args) {
    var s = T.UI[key] || key;
    Object.keys(args || {}).forEach(function (k) { s = s.replace('{' + k + '}', args[k]); });
    return s;
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function show(id, on) { $(id).hidden = !on; }
  function randomKey() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  document.querySelectorAll('[data-t]').forEach(function (n) { n.textContent = ui(n.getAttribute('data-t')); });
  $('consent-label').textContent = ui('consent.label', { v: consentVersion });
  $('claim-name').placeholder = ui('confirm.name');
  $('claim-id').placeholder = ui('confirm.id');

  // Toasts, loading and errors, as the page in the Mini Program shows them.
  var toastTimer = null;
  function toast(text) {
    $('toast').textContent = text;
    show('toast', true);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { show('toast', false); }, 3000);
  }
  function loading(text) { $('loading').textContent = text || ''; show('loading', !!text); }
  var errorSlots = ['page', 'consent', 'photo', 'confirm', 'face'];
  function clearError() { errorSlots.forEach(function (w) { show('error-' + w, false); }); show('toast', false); }
  // say shows text under the section where the user acted, and as a toast;
  // a request id only for what support must look at.
  function say(where, text, supportId) {
    clearError();
    var box = $('error-' + where);
    clear(box);
    box.appendChild(el('span', text));
    if (supportId) { box.appendChild(el('div', ui('error.support', { id: supportId }), 'support-id')); }
    box.hidden = false;
    toast(text);
  }
  function showError(err, where) {
    var text = T.ERROR_TEXT[err.code] || err.message || ui('error.generic');
    if (err.code === 'too_many_attempts') { text = ui('error.too_many'); }
    if (err.code === 'consent_required' || err.code === 'consent_outdated') { $('consent').checked = false; where = 'consent'; }
    if (err.code === 'unauthorized') { token = ''; }
    if (err.code === 'face_consent_required') { face.reset(); where = 'face'; }
    var forSupport = err.status >= 500 || !T.ERROR_TEXT[err.code];
    say(where || 'page', text, forSupport ? err.requestId : '');
    if (err.code === 'already_verified' || err.code === 'invalid_state' || err.code === 'verification_erased') { refresh(); }
  }

  // modal asks a question like wx.showModal; resolves true on OK.
  function modal(title, content, okText) {
    return new Promise(function (resolve) {
      var d = $('modal');
      $('modal-title').textContent = title;
      $('modal-content').textContent = content;
      $('modal-ok').textContent = okText || ui('modal.ok');
      d.returnValue = '';
      d.addEventListener('close', function once() {
        d.removeEventListener('close', once);
        resolve(d.returnValue === 'ok');
      });
      d.showModal();
    });
  }

  // The developer view -----------------------------------------------------
  function logLine(method, path, status, code) {
    var li = el('li');
    li.appendChild(el('code', method + ' ' + path));
    li.appendChild(document.createTextNode(' → '));
    li.appendChild(el('strong', status || 'network', status >= 400 || !status ? 'bad' : 'good'));
    if (code) { li.appendChild(document.createTextNode(' ' + code)); }
    $('log').insertBefore(li, $('log').firstChild);
  }

  // call sends one API request and resolves to the answer's body, or
  // rejects with {code, status, requestId, fields, message}.
  function call(method, path, opts) {
    opts = opts || {};
    var headers = { 'Accept-Language': lang === 'en' ? 'en' : 'zh-CN' };
    if (token) { headers.Authorization = 'Bearer ' + token; }
    if (opts.key) { headers['Idempotency-Key'] = opts.key; }
    var body;
    if (opts.json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.json); }
    if (opts.form) { body = opts.form; }
    return fetch(path, { method: method, headers: headers, body: body, credentials: 'omit' }).then(function (resp) {
      var ct = resp.headers.get('Content-Type') || '';
      return (ct.indexOf('application/json') === 0 ? resp.json() : Promise.resolve(null)).then(function (data) {
        var e = data && data.error;
        logLine(method, path, resp.status, e ? e.code : '');
        $('last-body').textContent = data === null ? '(' + resp.status + ')' : JSON.stringify(data, null, 2);
        if (resp.ok) { return data; }
        throw { code: e ? e.code : 'http_' + resp.status, status: resp.status, requestId: e ? e.request_id : '', fields: e ? e.fields : [], message: e ? e.message : '' };
      });
    }, function (err) {
      logLine(method, path, 0, 'network');
      throw { code: 'network', status: 0, message: String(err) };
    });
  }

  // login does what wx.login + POST /api/v1/session do: the sandbox takes
  // any code and names the user by what comes before ':'.
  function login(name) {
    who = name;
    $('dev-user').textContent = ui('dev.user', { who: who });
    return call('POST', '/api/v1/session', { json: { code: who + ':' + randomKey().slice(0, 8) } }).then(function (s) { token = s.token; });
  }
  function withSession(send) {
    return (token ? Promise.resolve() : login(who)).then(send).catch(function (err) {
      if (err.code !== 'unauthorized') { throw err; }
      token = '';
      return login(who).then(send);
    });
  }
  function request(method, path, opts) { return withSession(function () { return call(method, path, opts); }); }

  function newUser() {
    token = '';
    reading = null;
    pendingSubmit = null;
    restart();
    return login('demo-' + randomKey().slice(0, 6)).then(refresh, function (err) { showError(err, 'page'); });
  }
  $('new-user').addEventListener('click', newUser);

  fetch('/demo/samples.json').then(function (r) { return r.json(); }).then(function (list) {
    samples = list;
    var tbody = $('samples').querySelector('tbody');
    list.cards.forEach(function (c) {
      var tr = el('tr');
      [c.key, c.name, c.id_number, c.check].forEach(function (v, i) { tr.appendChild(el('td', v, i === 2 ? 'mono' : '')); });
      tbody.appendChild(tr);
    });
  });

  // The page -----------------------------------------------------------------
  function rows(fields) {
    var out = [];
    if (!fields) { return out; }
    ['name', 'sex', 'ethnicity', 'birth', 'address', 'id_number', 'authority', 'valid_from', 'valid_to'].forEach(function (k) {
      if (fields[k]) { out.push([T.FIELDS[k], fields[k]]); }
    });
    if (fields.long_term) { out.push([T.FIELDS.valid_to, T.FIELDS.long_term]); }
    return out;
  }

  function setSide(side, photoURL, uploaded) {
    var tile = $('side-' + side);
    var img = tile.querySelector('img');
    var ph = tile.querySelector('.placeholder');
    if (photoURL !== undefined) { img.src = photoURL || ''; img.hidden = !photoURL; }
    ph.hidden = !img.hidden;
    tile.querySelector('.caption').hidden = img.hidden;
    ph.textContent = uploaded ? ui('photos.' + side + '_done') : ui('photos.' + side);
  }

  function applyView(v) {
    state = v.state;
    var done = ['verified', 'rejected', 'review', 'erased', 'revoked'].indexOf(v.state) >= 0;
    show('flow', !done && v.state !== 'checking' && v.state !== 'face_pending');
    face.apply(v);
    show('checking', v.state === 'checking');
    show('result', done);
    show('erase', !!v.state && v.state !== 'none' && v.state !== 'erased');
    var missing = v.missing || [];
    setSide('front', undefined, !!v.front || (v.state === 'draft' && missing.indexOf('front') < 0));
    setSide('back', undefined, !!v.back || (v.state === 'draft' && missing.indexOf('back') < 0));
    var warn = $('warnings');
    clear(warn);
    // With both sides in, a photo of the other side was filed where it
    // belongs: its wrong_side warning no longer applies.
    (v.warnings || []).filter(function (w) { return !(w === 'wrong_side' && v.front && v.back); })
      .map(function (w) { return T.WARNING_TEXT[w] || w; })
      .filter(function (w, i, all) { return all.indexOf(w) === i; })
      .forEach(function (w) { warn.appendChild(el('div', w, 'warning')); });
    var r = rows(v.front).concat(rows(v.back));
    show('reading-section', r.length > 0 && !done);
    clear($('reading'));
    r.forEach(function (row) {
      var line = el('div', null, 'row');
      line.appendChild(el('span', row[0], 'label'));
      line.appendChild(el('span', row[1]));
      $('reading').appendChild(line);
    });
    show('confirm-section', v.state === 'recognized');
    $('confirm-hint').textContent = v.message || ui('confirm.hint');
    $('attempts-left').textContent = v.attempts_left !== undefined && v.attempts_left !== null ? ui('confirm.left', { n: v.attempts_left }) : '';
    if (done) {
      $('result').className = 'section result result-' + v.state;
      $('result-title').textContent = T.RESULT_TITLE[v.state];
      $('result-reason').textContent = v.message || (v.reason ? (T.REASON_TEXT[v.reason] || v.reason) : '');
      $('result-note').textContent = v.note || '';
      show('result-note', !!v.note);
      show('restart', v.state === 'rejected' || v.state === 'erased' || v.state === 'revoked');
    }
  }

  function refresh() {
    return request('GET', '/api/v1/verification').then(applyView, function (err) { showError(err, 'page'); });
  }

  function restart() {
    reading = null;
    face.reset();
    clearError();
    $('claim-name').value = '';
    $('claim-id').value = '';
    setSide('front', '', false);
    setSide('back', '', false);
    clear($('warnings'));
    show('result', false);
    show('flow', true);
    show('reading-section', false);
    show('confirm-section', false);
  }
  $('restart').addEventListener('click', restart);

  // Photos: a tap opens the chooser (the camera in the Mini Program).
  ['front', 'back'].forEach(function (side) {
    $('side-' + side).addEventListener('click', function () {
      if (!$('consent').checked) { say('consent', T.ERROR_TEXT.consent_required); return; }
      sheetSide = side;
      var list = $('sheet-samples');
      clear(list);
      (samples ? samples.cards : []).forEach(function (c) {
        var b = el('button', ui('sheet.sample', { key: c.key }), 'button');
        b.type = 'button';
        b.addEventListener('click', function () { $('sheet').close(); uploadSample(side === 'front' ? c.front : c.back, side); });
        list.appendChild(b);
      });
      $('sheet').showModal();
    });
  });
  $('consent').addEventListener('change', clearError);
  $('sheet-junk').addEventListener('click', function () { $('sheet').close(); if (samples) { uploadSample(samples.not_a_card, sheetSide); } });
  $('file').addEventListener('change', function () {
    var f = $('file').files && $('file').files[0];
    $('file').value = '';
    $('sheet').close();
    if (!f) { return; }
    if (f.size > MAX_PHOTO_BYTES) { say('photo', ui('error.too_large')); return; }
    upload(f, f.name, sheetSide);
  });

  function uploadSample(name, side) {
    fetch('/demo/samples/' + encodeURIComponent(name)).then(function (r) { return r.blob(); })
      .then(function (blob) { upload(blob, name, side); });
  }

  function upload(blob, filename, side) {
    var before = $('side-' + side).querySelector('img').getAttribute('src') || '';
    var preview = URL.createObjectURL(blob);
    clearError();
    setSide(side, preview, false);
    loading(ui('loading.upload'));
    var form = new FormData();
    form.append('image', blob, filename);
    form.append('side', side);
    form.append('consent_version', consentVersion);
    request('POST', '/api/v1/verification/idcard', { form: form }).then(function (v) {
      loading('');
      // The server files a photo under the side it shows.
      var other = side === 'front' ? 'back' : 'front';
      if (!v[side] && v[other]) { setSide(side, before, false); setSide(other, preview, true); }
      if (v.front && v.front.id_number && v.front.id_number.indexOf('*') < 0) {
        reading = { name: v.front.name || '', idNumber: v.front.id_number };
        $('claim-name').value = reading.name;
        $('claim-id').value = reading.idNumber;
      }
      applyView(v);
    }, function (err) {
      loading('');
      setSide(side, before, false); // the earlier photo stays: the server still holds it
      showError(err, 'photo');
    });
  }

  $('submit').addEventListener('click', function () { submit(false); });
  function submit(confirmed) {
    var name = $('claim-name').value.trim();
    var idNumber = $('claim-id').value.replace(/\s+/g, '').toUpperCase(); // typed in groups: blanks go
    var read = reading || { name: '', idNumber: '' };
    if (!name || idNumber.length !== 18) { say('confirm', ui('confirm.fill')); return; }
    var claim = {};
    if (name !== read.name) { claim.name = name; }
    if (idNumber !== read.idNumber) { claim.id_number = idNumber; }
    if (confirmed) { claim.confirm = true; }
    var body = JSON.stringify(claim);
    if (!pendingSubmit || pendingSubmit.body !== body) { pendingSubmit = { key: randomKey(), body: body }; }
    clearError();
    loading(ui('loading.submit'));
    request('POST', '/api/v1/verification/submit', { json: claim, key: pendingSubmit.key }).then(function (v) {
      loading('');
      pendingSubmit = null;
      applyView(v);
    }, function (err) {
      loading('');
      if (err.code !== 'network') { pendingSubmit = null; }
      if (err.code === 'confirm_correction') {
        var fields = (err.fields || []).map(function (f) { return T.FIELD_TEXT[f] || f; }).join(lang === 'en' ? ', ' : '、');
        modal(ui('confirm.recheck'), ui('confirm.recheck_text', { fields: fields }), ui('confirm.recheck_ok'))
          .then(function (ok) { if (ok) { submit(true); } });
        return;
      }
      showError(err, 'confirm');
    });
  }

  $('erase').addEventListener('click', function () {
    modal(ui('erase.title'), ui('erase.text')).then(function (ok) {
      if (!ok) { return; }
      request('DELETE', '/api/v1/verification').then(function () {
        toast(ui('erase.done'));
        restart();
        return refresh();
      }, function (err) { showError(err, 'page'); });
    });
  });

  // The face step (demo-face.js), with what it needs of this page.
  var face = window.realnameDemoFace({
    $: $, T: T, ui: ui, show: show, loading: loading, modal: modal, clearError: clearError,
    showError: showError, call: call, request: request, applyView: applyView
  });

  newUser();
}());
