// The sandbox walkthrough at /demo: the Mini Program flow driven from a
// browser through the same JSON API. Everything the server sends is put on
// the page with textContent, never innerHTML; handlers are attached here so
// the page works under a strict Content-Security-Policy.
(function () {
  'use strict';

  var root = document.getElementById('demo');
  var consentVersion = root.getAttribute('data-consent-version') || '';
  var token = '';
  var pendingSubmit = null; // {key, body} of a submit whose answer never arrived
  var reading = null; // {name, id_number} the last upload answer showed in full

  var errorHints = {
    invalid_code: 'The login code was refused (invalid, expired or reused). Log in again.',
    rate_limited: 'Too many logins; wait a minute.',
    risky_user: 'WeChat refused this account.',
    unauthorized: 'The session is missing or expired. Log in again.',
    consent_required: 'Tick the consent box: the first upload must send consent_version.',
    consent_outdated: 'The notice changed; show the current one and ask again.',
    unsupported_image: 'The file must be a JPEG, PNG or BMP image.',
    image_invalid: 'The photo cannot be read; take it again.',
    image_required: 'Choose a photo first.',
    body_too_large: 'The photo is too large.',
    not_an_id_card: 'No ID card found in the photo. In the sandbox, only the sample cards are recognised.',
    ocr_unavailable: 'No OCR vendor could read the photo right now; retry later.',
    side_missing: 'Upload the missing side of the card first.',
    already_verified: 'This user is already verified. Erase the data or log in as someone else.',
    invalid_state: 'Not possible in the current state (for example while a case is in review).',
    verification_erased: 'The data was erased while this request ran; the erasure wins. Upload photos again to start anew.',
    no_verification: 'No verification yet: upload a photo first.',
    name_invalid: 'The name is not valid.',
    id_number_invalid: 'The ID number fails the national rules (check digit, region, birth date).',
    too_many_attempts: 'Daily limit reached.',
    idempotency_in_progress: 'The same submit is still running; wait for it.',
    idempotency_key_reused: 'The Idempotency-Key was used for a different request.'
  };

  var reasonHints = {
    name_id_mismatch: 'The name does not match the ID number.',
    id_number_invalid: 'The ID number is not valid.',
    name_invalid: 'The name is not valid.',
    card_expired: 'The card has expired.',
    under_min_age: 'The holder is younger than the minimum age.',
    no_record: 'The authoritative source has no record of this number; staff will review.',
    source_unavailable: 'No source could answer; staff will review the case.',
    id_already_bound: 'This ID number is already bound to other accounts; staff will review.',
    ocr_mismatch: 'The number\'s birth date or sex contradicts the card; staff will review.',
    interrupted: 'The check was interrupted; staff will review.'
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  // randomKey makes an Idempotency-Key; getRandomValues works on plain
  // http too, unlike crypto.randomUUID.
  function randomKey() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  function showError(text) {
    var e = $('error');
    e.textContent = text || '';
    e.hidden = !text;
    clear($('error-attempts'));
  }

  function logLine(method, path, status, code, replayed) {
    var li = el('li');
    li.appendChild(el('code', method + ' ' + path));
    li.appendChild(document.createTextNode(' → '));
    li.appendChild(el('strong', status, status >= 400 || status === 0 ? 'bad' : 'good'));
    if (code) { li.appendChild(document.createTextNode(' ' + code)); }
    if (replayed) { li.appendChild(document.createTextNode(' (Idempotent-Replayed)')); }
    var log = $('log');
    log.insertBefore(li, log.firstChild);
  }

  // call sends one API request and resolves to {status, body, headers}; a
  // network failure resolves with status 0.
  function call(method, path, opts) {
    opts = opts || {};
    var headers = {};
    if (token) { headers.Authorization = 'Bearer ' + token; }
    if (opts.idempotencyKey) { headers['Idempotency-Key'] = opts.idempotencyKey; }
    var body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      body = opts.form; // the browser sets the multipart boundary
    }
    showError('');
    return fetch(path, { method: method, headers: headers, body: body, credentials: 'omit' })
      .then(function (resp) {
        var ct = resp.headers.get('Content-Type') || '';
        var parsed = ct.indexOf('application/json') === 0 ? resp.json() : Promise.resolve(null);
        return parsed.then(function (data) {
          return { status: resp.status, body: data, headers: resp.headers };
        });
      }, function (err) {
        return { status: 0, body: null, headers: new Headers(), network: String(err) };
      })
      .then(function (res) {
        var code = res.body && res.body.error ? res.body.error.code : '';
        logLine(method, path, res.status, code, res.headers.get('Idempotent-Replayed') === 'true');
        $('last-body').textContent = res.body === null ? (res.network || '(no body)') : JSON.stringify(res.body, null, 2);
        if (res.status === 0) {
          showError('Network error: ' + res.network + '. Retry; a submit reuses its Idempotency-Key.');
        } else if (code) {
          reportError(res, code);
        }
        return res;
      });
  }

  function reportError(res, code) {
    var e = res.body.error;
    var text = (errorHints[code] || e.message) + ' (' + res.status + ' ' + code + ', request ' + e.request_id + ')';
    if (code === 'too_many_attempts') {
      var after = parseInt(res.headers.get('Retry-After') || '0', 10);
      if (after > 0) { text += ' Retry after ' + Math.ceil(after / 60) + ' min.'; }
    }
    if (code === 'unauthorized') { setToken('', null); }
    showError(text);
    if (e.attempts) { renderAttempts($('error-attempts'), e.attempts); }
  }

  function setToken(t, expiresAt) {
    token = t;
    $('login-status').textContent = t ? 'Logged in; the session expires at ' + expiresAt + '.' : 'Not logged in.';
    root.classList.toggle('logged-in', !!t);
  }

  function requireLogin() {
    if (!token) { showError('Log in first (step 1).'); return false; }
    return true;
  }

  // Login -----------------------------------------------------------------

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var name = $('login-name').value.trim().replace(/[^A-Za-z0-9_.-]/g, '-');
    if (!name) { return; }
    var code = name + ':' + randomKey().slice(0, 8); // a code works once
    token = '';
    call('POST', '/api/v1/session', { json: { code: code } }).then(function (res) {
      if (res.status === 201) {
        setToken(res.body.token, res.body.expires_at);
        pendingSubmit = null;
        refresh();
      }
    });
  });

  $('logout').addEventListener('click', function () {
    if (!token) { return; }
    call('DELETE', '/api/v1/session').then(function () {
      setToken('', null);
      clear($('view'));
      clear($('decision'));
      pendingSubmit = null;
    });
  });

  // Photos ----------------------------------------------------------------

  function upload(blob, filename, side) {
    if (!requireLogin()) { return; }
    var form = new FormData();
    form.append('image', blob, filename);
    if (side) { form.append('side', side); }
    if ($('consent').checked) { form.append('consent_version', consentVersion); }
    call('POST', '/api/v1/verification/idcard', { form: form }).then(function (res) {
      if (res.status !== 200) { return; }
      // The answer to the user's own upload shows the reading in full:
      // prefill the confirmation, so a right reading is one click.
      var f = res.body.front;
      if (f && f.id_number && f.id_number.indexOf('*') < 0) {
        reading = { name: f.name || '', id_number: f.id_number };
        $('claim-name').value = reading.name;
        $('claim-id').value = reading.id_number;
      }
      renderView(res.body);
    });
  }

  ['file-front', 'file-back'].forEach(function (id) {
    var input = $(id);
    input.addEventListener('change', function () {
      var f = input.files && input.files[0];
      if (f) { upload(f, f.name, input.getAttribute('data-side')); }
      input.value = ''; // choosing the same file again fires change again
    });
  });

  function uploadSample(name, side) {
    if (!requireLogin()) { return; }
    fetch('/demo/samples/' + encodeURIComponent(name)).then(function (resp) {
      if (!resp.ok) { throw new Error('sample ' + name + ': HTTP ' + resp.status); }
      return resp.blob();
    }).then(function (blob) { upload(blob, name, side); }, function (err) { showError(String(err)); });
  }

  function sampleButton(label, onClick) {
    var b = el('button', label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function renderSamples(list) {
    var tbody = $('samples').querySelector('tbody');
    clear(tbody);
    list.cards.forEach(function (card) {
      var tr = el('tr');
      tr.appendChild(el('td', card.key));
      tr.appendChild(el('td', card.name));
      tr.appendChild(el('td', card.id_number, 'mono'));
      tr.appendChild(el('td', card.valid_to));
      tr.appendChild(el('td', card.check));
      var td = el('td', null, 'actions');
      td.appendChild(sampleButton('front', function () { uploadSample(card.front, 'front'); }));
      td.appendChild(sampleButton('back', function () { uploadSample(card.back, 'back'); }));
      td.appendChild(sampleButton('fill form', function () {
        $('claim-name').value = card.name;
        $('claim-id').value = card.id_number;
      }));
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
    $('not-a-card').addEventListener('click', function () { uploadSample(list.not_a_card, ''); });
  }

  fetch('/demo/samples.json').then(function (resp) { return resp.json(); })
    .then(renderSamples, function (err) { showError('Could not load the sample cards: ' + err); });

  // The reading -----------------------------------------------------------

  var fieldLabels = [
    ['name', 'name'], ['id_number', 'ID number'], ['sex', 'sex'], ['ethnicity', 'ethnicity'],
    ['birth', 'birth'], ['address', 'address'], ['authority', 'authority'],
    ['valid_from', 'valid from'], ['valid_to', 'valid to'], ['long_term', 'long term']
  ];

  function renderFields(parent, title, f) {
    var box = el('div', null, 'side');
    box.appendChild(el('h3', title));
    if (!f) { box.appendChild(el('p', 'not uploaded', 'status')); parent.appendChild(box); return; }
    var dl = el('dl');
    fieldLabels.forEach(function (p) {
      if (f[p[0]] === undefined || f[p[0]] === '') { return; }
      dl.appendChild(el('dt', p[1]));
      dl.appendChild(el('dd', f[p[0]] === true ? 'yes' : f[p[0]]));
    });
    box.appendChild(dl);
    parent.appendChild(box);
  }

  function renderAttempts(parent, attempts) {
    if (!attempts || !attempts.length) { return; }
    var t = el('table', null, 'attempts');
    var head = el('tr');
    ['provider', 'outcome', 'code', 'ms'].forEach(function (h) { head.appendChild(el('th', h)); });
    t.appendChild(head);
    attempts.forEach(function (a) {
      var tr = el('tr');
      [a.provider, a.outcome, a.code || '', a.latency_ms].forEach(function (v) { tr.appendChild(el('td', v)); });
      t.appendChild(tr);
    });
    parent.appendChild(el('h3', 'Provider attempts of this call'));
    parent.appendChild(t);
  }

  function renderView(v) {
    var box = $('view');
    clear(box);
    var p = el('p');
    if (v.message) { box.appendChild(el('p', v.message + (v.next_action ? ' (next: ' + v.next_action + ')' : ''), 'big')); }
    if (v.note) { box.appendChild(el('p', 'Reviewer: ' + v.note)); }
    p.appendChild(document.createTextNode('State '));
    p.appendChild(el('strong', v.state, 'state state-' + v.state));
    p.appendChild(document.createTextNode(' · checks left today ' + v.attempts_left));
    if (v.missing && v.missing.length) { p.appendChild(document.createTextNode(' · still to upload: ' + v.missing.join(', '))); }
    if (v.erased) { p.appendChild(document.createTextNode(' · personal data erased')); }
    box.appendChild(p);
    if (v.warnings && v.warnings.length) {
      var ul = el('ul', null, 'warnings');
      v.warnings.forEach(function (w) { ul.appendChild(el('li', w)); });
      box.appendChild(el('h3', 'Warnings'));
      box.appendChild(ul);
    }
    var sides = el('div', null, 'sides');
    renderFields(sides, 'Front', v.front);
    renderFields(sides, 'Back', v.back);
    box.appendChild(sides);
    renderAttempts(box, v.attempts);
    renderDecision(v);
  }

  function renderDecision(v) {
    var box = $('decision');
    clear(box);
    if (v.state !== 'verified' && v.state !== 'rejected' && v.state !== 'review' && v.state !== 'erased') { return; }
    box.className = 'decision decision-' + v.state;
    box.appendChild(el('p', 'Decision: ' + v.state, 'big'));
    if (v.name || v.id_number) { box.appendChild(el('p', 'Submitted as ' + (v.name || '') + ' ' + (v.id_number || ''))); }
    if (v.reason) { box.appendChild(el('p', (reasonHints[v.reason] || 'Reason') + ' (' + v.reason + ')')); }
    if (v.state === 'rejected' || v.state === 'erased') { box.appendChild(el('p', 'Upload photos again to start a new verification.', 'hint')); }
  }

  function refresh() {
    if (!requireLogin()) { return; }
    call('GET', '/api/v1/verification').then(function (res) {
      if (res.status === 200) { renderView(res.body); }
      if (res.status === 404) { showError(''); clear($('view')); clear($('decision')); $('view').appendChild(el('p', 'No verification yet.', 'status')); }
    });
  }

  $('refresh').addEventListener('click', refresh);

  // Confirm ---------------------------------------------------------------

  $('submit-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    submitClaim(false);
  });

  // submitClaim confirms the reading: {} when nothing was changed, else the
  // corrected fields only; a correction that contradicts the card is asked
  // about (409 confirm_correction), then sent with confirm: true.
  function submitClaim(confirmed) {
    if (!requireLogin()) { return; }
    var name = $('claim-name').value.trim();
    var id = $('claim-id').value.trim().toUpperCase();
    var read = reading || { name: '', id_number: '' };
    var claim = {};
    if (name !== read.name) { claim.name = name; }
    if (id !== read.id_number) { claim.id_number = id; }
    if (confirmed) { claim.confirm = true; }
    var body = JSON.stringify(claim);
    // A new key per attempt; the same key only when the very same request
    // is resent after its answer was lost.
    if (!pendingSubmit || pendingSubmit.body !== body) { pendingSubmit = { key: randomKey(), body: body }; }
    call('POST', '/api/v1/verification/submit', { json: claim, idempotencyKey: pendingSubmit.key }).then(function (res) {
      if (res.status === 0) { return; } // keep the key for the retry
      pendingSubmit = null;
      if (res.status === 200) { renderView(res.body); }
      var e = res.body && res.body.error;
      if (res.status === 409 && e && e.code === 'confirm_correction' &&
          window.confirm('What you typed contradicts the card (' + (e.fields || []).join(', ') + '). Submit it anyway?')) {
        submitClaim(true);
      }
    });
  }

  // Erase -----------------------------------------------------------------

  $('erase').addEventListener('click', function () {
    if (!requireLogin()) { return; }
    if (!window.confirm('Erase the photos and personal fields of this user?')) { return; }
    call('DELETE', '/api/v1/verification').then(function (res) {
      if (res.status === 204) {
        clear($('decision'));
        $('claim-name').value = '';
        $('claim-id').value = '';
        reading = null;
        refresh();
      }
    });
  });
}());
