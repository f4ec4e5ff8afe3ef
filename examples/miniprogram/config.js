// Settings of the example. Change them to match your deployment.
module.exports = {
  // BASE_URL is the realname server, without a trailing slash. In production
  // it must be an https:// domain listed in the Mini Program console under
  // request合法域名 and uploadFile合法域名. http://localhost:8080 works only in
  // the developer tools with "不校验合法域名" ticked (project.config.json sets
  // urlCheck: false for that).
  BASE_URL: 'http://localhost:8080',

  // CONSENT_VERSION names the personal-data notice shown on the page. It must
  // equal the server's REALNAME_CONSENT_VERSION (default "v1"); when you
  // change the notice text, raise both together.
  CONSENT_VERSION: 'v1',

  // FACE_CONSENT_VERSION names the face check's notice (人脸核身告知, the
  // FACE_TEXT.notice in pages/verify/face.js). It must equal the server's
  // REALNAME_FACE_CONSENT_VERSION (default "face-v1"); raise both together.
  // Used only when the server runs with REALNAME_FACE=required or fallback.
  FACE_CONSENT_VERSION: 'face-v1',

  // REVIEW_TEMPLATE_ID is the subscription template (订阅消息) of the review
  // result, the server's REALNAME_WECHAT_REVIEW_TEMPLATE_ID. The page asks
  // for the subscription when the user submits; empty: it does not ask.
  REVIEW_TEMPLATE_ID: ''
};
