// The example has one page, pages/verify. The session token is kept by
// realname.js, the small client of the realname API that the page uses.
// The page also handles WeChat's privacy prompt (onNeedPrivacyAuthorization).
App({});
