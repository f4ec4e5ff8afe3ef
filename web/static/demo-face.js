// The face step of /demo (人脸核身), as examples/miniprogram's
// pages/verify/face.js does it, with one difference: the sandbox has no
// WeChat client, so where the Mini Program calls wx.requestFacialVerify a
// sheet asks what the capture ends with (通过 / 不是本人 / 取消 → verify_ret
// 10000 / 10004 / 90002), tells the sandbox (POST /demo/face, which the
// server passes to the sandbox's /_sandbox/wechat/face), and then asks
// the server for the result, as the Mini Program does in `complete`: the
// server, not the client, decides. demo.js calls realnameDemoFace with
// its helpers; loaded before it (both deferred, in order), no inline code.
(function () {
  'use strict';

  // While WeChat is still comparing (next_action "face_result") ask again,
  // POLLS times in all, POLL_MS apart, as the example does.
  var POLLS = 4;
  var POLL_MS = 2000;

  window.realnameDemoFace = function (p) {
    var $ = p.$;
    var F = p.T.FACE_TEXT;
    var step = null; // what the face step shows; null when there is none
    var consented = false; // the server holds the consent: send it no more
    var version = ''; // the face notice's version, as the server names it
    var busy = false;

    $('face-title').textContent = F.title;
    $('face-notice').textContent = F.notice;
    $('face-decline').textContent = F.decline;

    // apply shows the face step of a view (demo.js's applyView calls it).
    function apply(v) {
      var f = v.face || {};
      step = null;
      if (v.state === 'face_pending') {
        version = f.consent_version || version;
        // An earlier check exists only after the consent was recorded.
        if (f.verify_id || f.last) { consented = true; }
        step = {
          asking: v.next_action === 'face_result' || !!f.verify_id, // a started check: read its result first
          retry: !!f.last, // the last attempt did not finish
          canDecline: !!v.reason // fallback mode: staff instead
        };
      }
      p.show('face-section', !!step);
      if (!step) { return; }
      $('face-message').textContent = v.message || '';
      $('face-consent-label').textContent = F.consent + p.ui('face.version', { v: version });
      $('face-consented').textContent = F.consented + p.ui('face.version', { v: version });
      p.show('face-consent-row', !consented);
      p.show('face-consented', consented);
      $('face-left').textContent = v.attempts_left !== undefined && v.attempts_left !== null ? p.ui('confirm.left', { n: v.attempts_left }) : '';
      $('face-start').textContent = step.asking ? F.ask : (step.retry ? F.retry : F.start);
      p.show('face-decline', step.canDecline);
    }

    function fail(err) {
      busy = false;
      p.loading('');
      p.showError(err, 'face');
    }

    function begin() {
      var body = consented ? {} : { consent_version: version };
      p.clearError();
      busy = true;
      p.loading(F.starting);
      p.request('POST', '/api/v1/verification/face', { json: body }).then(function (v) {
        busy = false;
        p.loading('');
        consented = true;
        p.applyView(v);
        if (v.face && v.face.verify_id) { capture(v.face.verify_id); }
      }, fail);
    }

    // capture stands in for wx.requestFacialVerify: the sheet's choice is
    // what the phone would tell WeChat. Closed without one, the user left
    // the capture, and WeChat has nothing (10300) to say.
    function capture(verifyID) {
      var d = $('face-sheet');
      d.returnValue = '';
      d.addEventListener('close', function once() {
        d.removeEventListener('close', once);
        var ret = parseInt(d.returnValue, 10);
        var played = ret ? p.call('POST', '/demo/face', { json: { verify_id: verifyID, verify_ret: ret } }) : Promise.resolve();
        played.then(ask, ask); // complete: whatever the client says, ask the server
      });
      d.showModal();
    }

    function ask() {
      p.clearError();
      busy = true;
      p.loading(F.checking);
      var once = function (n) {
        return p.request('POST', '/api/v1/verification/face/result', { json: {} }).then(function (v) {
          if (v.next_action === 'face_result' && n < POLLS) {
            return new Promise(function (r) { setTimeout(r, POLL_MS); }).then(function () { return once(n + 1); });
          }
          return v;
        });
      };
      once(1).then(function (v) {
        busy = false;
        p.loading('');
        p.applyView(v);
      }, fail);
    }

    $('face-start').addEventListener('click', function () {
      if (busy || !step) { return; }
      if (step.asking) { ask(); return; }
      if (!consented && !$('face-consent').checked) { p.showError({ code: 'face_consent_required' }, 'face'); return; }
      begin();
    });
    $('face-consent').addEventListener('change', p.clearError);
    $('face-decline').addEventListener('click', function () {
      if (busy) { return; }
      p.modal(F.decline_title, F.decline_text).then(function (ok) {
        if (!ok) { return; }
        p.clearError();
        busy = true;
        p.request('POST', '/api/v1/verification/face/decline', { json: {} }).then(function (v) {
          busy = false;
          p.applyView(v);
        }, fail);
      });
    });

    return {
      apply: apply,
      // reset forgets the consent: after an erasure (or a new user) the
      // server may no longer hold it, so the box is asked again.
      reset: function () {
        consented = false;
        $('face-consent').checked = false;
      }
    };
  };
}());
