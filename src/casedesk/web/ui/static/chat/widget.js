/*
 * casedesk live chat widget. Embed with one tag:
 *
 *   <script src="https://help.example.com/static/chat/widget.js" data-casedesk
 *           data-title="Chat with us" data-greeting="Hi! How can we help?" async></script>
 *
 * Vanilla JS, no build step, no dependencies. The widget lives in a shadow root (its styles
 * come from widget.css next to this file and never touch the page's). The visitor's chat token,
 * name, e-mail and unsent messages are kept in localStorage, so a reload or a dropped
 * connection resumes the same case and loses nothing: a message stays "sending" until the
 * server acknowledges it, and is resent with the same client id (stored once) after a
 * reconnect. Protocol: see docs/channels-chat-phone-portal.md.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-casedesk]");
  if (!script || window.__casedeskChat) return;
  window.__casedeskChat = true;

  var src = new URL(script.src, location.href);
  var base = src.origin;
  var socketUrl = (src.protocol === "https:" ? "wss://" : "ws://") + src.host +
    "/api/v1/channels/chat";
  var storeKey = "casedesk-chat:" + base;
  var title = script.getAttribute("data-title") || "Chat with us";
  var greeting = script.getAttribute("data-greeting") || "Hi! Leave us a message and we will answer here.";

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  var state = load();
  state.outbox = state.outbox || [];
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify({
      token: state.token, name: state.name, email: state.email, outbox: state.outbox,
      open: state.open
    })); } catch (e) { /* private mode: the chat still works for this page */ }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  // -- the DOM --------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-casedesk-chat", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/static/chat/widget.css";
  root.appendChild(css);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  var launcher = el("button", "cd-launcher", title);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  var panel = el("section", "cd-panel");
  panel.setAttribute("aria-label", title);
  panel.hidden = true;
  var header = el("header", "cd-header");
  header.appendChild(el("span", "cd-title", title));
  var caseLabel = el("span", "cd-case");
  header.appendChild(caseLabel);
  var closeBtn = el("button", "cd-close", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "Close chat");
  header.appendChild(closeBtn);
  var statusLine = el("div", "cd-status");
  statusLine.setAttribute("role", "status");
  var log = el("ol", "cd-log");
  log.setAttribute("aria-live", "polite");
  log.appendChild(el("li", "cd-greeting", greeting));

  var intro = el("form", "cd-intro");
  intro.noValidate = true;
  var nameInput = el("input");
  nameInput.name = "name"; nameInput.placeholder = "Your name"; nameInput.required = true;
  nameInput.maxLength = 200; nameInput.autocomplete = "name";
  var emailInput = el("input");
  emailInput.name = "email"; emailInput.type = "email"; emailInput.placeholder = "Your e-mail";
  emailInput.required = true; emailInput.maxLength = 320; emailInput.autocomplete = "email";
  var introError = el("div", "cd-error");
  var startBtn = el("button", "cd-send", "Start chat");
  startBtn.type = "submit";
  [nameInput, emailInput, introError, startBtn].forEach(function (n) { intro.appendChild(n); });

  var composer = el("form", "cd-composer");
  var text = el("textarea");
  text.name = "message"; text.rows = 2; text.placeholder = "Write a message…";
  text.setAttribute("aria-label", "Message");
  var sendBtn = el("button", "cd-send", "Send");
  sendBtn.type = "submit";
  var attach = el("label", "cd-attach", "📎");
  attach.title = "Send a file";
  var fileInput = el("input");
  fileInput.type = "file"; fileInput.hidden = true;
  fileInput.setAttribute("aria-label", "Send a file");
  attach.appendChild(fileInput);
  var composerError = el("div", "cd-error");
  [text, attach, sendBtn, composerError].forEach(function (n) { composer.appendChild(n); });

  [header, statusLine, log, intro, composer].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(panel);
  (document.body || document.documentElement).appendChild(host);

  // -- rendering ------------------------------------------------------------------------------
  var shown = {};   // message id -> true
  var lastId = 0;
  var maxChars = 4000;
  var maxFileBytes = 10 * 1024 * 1024;

  function post(path, form) {
    return fetch(base + path, { method: "POST", body: form, credentials: "omit" });
  }
  function problemOf(response) {
    return response.json().then(function (p) { return p.detail || "That did not work."; },
      function () { return "That did not work (" + response.status + ")."; });
  }
  function download(file) {              // a plain form POST: the token never goes in a URL
    var form = new FormData();
    form.append("token", state.token || "");
    post("/api/v1/channels/chat/files/" + file.id + "/download", form).then(function (r) {
      if (!r.ok) return problemOf(r).then(function (d) { composerError.textContent = d; });
      return r.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob); a.download = file.filename;
        root.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      });
    });
  }
  function fileButton(file) {
    var kb = Math.max(1, Math.round(file.size / 1024));
    var button = el("button", "cd-file", "📎 " + file.filename + " (" + kb + " KB)");
    button.type = "button";
    button.addEventListener("click", function () { download(file); });
    return button;
  }

  function addMessage(m) {
    if (shown[m.id]) return;
    shown[m.id] = true;
    lastId = Math.max(lastId, m.id);
    var mine = m.author_kind === "customer";
    var item = el("li", "cd-msg " + (mine ? "cd-mine" : "cd-theirs"));
    item.setAttribute("data-id", m.id);
    if (!mine) item.appendChild(el("div", "cd-author", m.author_name || "Support"));
    if (m.body) item.appendChild(el("div", "cd-body", m.body));
    (m.files || []).forEach(function (f) { item.appendChild(fileButton(f)); });
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }
  function renderPending() {
    Array.prototype.forEach.call(log.querySelectorAll(".cd-pending"), function (n) { n.remove(); });
    state.outbox.forEach(function (p) {
      var item = el("li", "cd-msg cd-mine cd-pending");
      item.appendChild(el("div", "cd-body", p.body));
      item.appendChild(el("div", "cd-note", p.error || "sending…"));
      if (p.error) {                     // not stored: give the text back to edit and resend
        var edit = el("button", "cd-link", "Edit and resend");
        edit.type = "button";
        edit.addEventListener("click", function () {
          text.value = p.body;
          state.outbox = state.outbox.filter(function (q) { return q !== p; });
          save(); renderPending(); text.focus();
        });
        item.appendChild(edit);
      }
      log.appendChild(item);
    });
    log.scrollTop = log.scrollHeight;
  }
  function showForms() {
    var known = !!(state.name && state.email);
    intro.hidden = known;
    composer.hidden = !known;
  }
  function setStatus(msg) { statusLine.textContent = msg || ""; }

  // -- the connection -------------------------------------------------------------------------
  var ws = null, ready = false, backoff = 1000, pingTimer = null, retryTimer = null;
  var stopped = false;

  function connect() {
    if (ws || stopped || !(state.name && state.email)) return;
    setStatus("Connecting…");
    ws = new WebSocket(socketUrl);
    ws.onopen = function () {
      ws.send(JSON.stringify({
        type: "hello", token: state.token || null, name: state.name, email: state.email,
        since: lastId, page: location.href
      }));
    };
    ws.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      handle(data);
    };
    ws.onclose = function (event) {
      ws = null; ready = false;
      clearInterval(pingTimer);
      if (event.code === 4401) {           // token no longer valid: a new chat, same visitor
        state.token = null; save(); backoff = 1000;
      } else if (event.code === 4403) {
        setStatus("Chat is not available here."); stopped = true; return;
      } else if (event.code === 4429) {
        backoff = 30000;
      }
      setStatus("Reconnecting…");
      retryTimer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function flush() {
    if (!ready) return;
    state.outbox.forEach(function (p) {
      if (!p.error && !p.inFlight) {
        p.inFlight = true;
        ws.send(JSON.stringify({ type: "message", client_id: p.client_id, body: p.body }));
      }
    });
  }

  function settle(clientId, error) {
    state.outbox = state.outbox.filter(function (p) {
      if (p.client_id !== clientId) return true;
      if (error) { p.error = error; p.inFlight = false; return true; }
      return false;
    });
    save(); renderPending();
  }

  function handle(data) {
    if (data.type === "welcome") {
      ready = true; backoff = 1000; setStatus("");
      state.token = data.token; save();
      if (data.max_message_chars) { maxChars = data.max_message_chars; text.maxLength = maxChars; }
      if (data.max_file_bytes != null) {
        maxFileBytes = data.max_file_bytes; attach.hidden = maxFileBytes === 0;
      }
      if (data.case) caseLabel.textContent = data.case.case_id || "";
      state.outbox.forEach(function (p) { p.inFlight = false; });
      flush();
      pingTimer = setInterval(function () {
        if (ws && ready) ws.send('{"type":"ping"}');
      }, 25000);
    } else if (data.type === "message") {
      addMessage(data.message); renderPending();
    } else if (data.type === "ack") {
      if (data.message) addMessage(data.message);
      settle(data.client_id, null);
    } else if (data.type === "case") {
      if (data.case) caseLabel.textContent = data.case.case_id || "";
    } else if (data.type === "error") {
      if (!ready && data.code === "bad_token") return;   // the close (4401) starts afresh
      if (!ready) {                      // the hello was refused: ask again
        introError.textContent = data.detail;
        state.name = state.email = null; save(); showForms();
        if (ws) ws.close();
        return;
      }
      if (data.code === "rate_limited" && data.client_id) {
        var wait = Math.max(1, data.retry_after || 1) * 1000;
        state.outbox.forEach(function (p) { if (p.client_id === data.client_id) p.inFlight = false; });
        setStatus("Sending a little slower…");
        setTimeout(function () { setStatus(""); flush(); }, wait);
      } else if (data.client_id) {
        settle(data.client_id, data.detail);
      } else {
        composerError.textContent = data.detail;
      }
    }
  }

  // -- events ---------------------------------------------------------------------------------
  function open(yes) {
    panel.hidden = !yes;
    launcher.setAttribute("aria-expanded", yes ? "true" : "false");
    state.open = yes; save();
    if (yes) { showForms(); renderPending(); connect(); (intro.hidden ? text : nameInput).focus(); }
  }
  launcher.addEventListener("click", function () { open(panel.hidden); });
  closeBtn.addEventListener("click", function () { open(false); });

  intro.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = nameInput.value.trim(), email = emailInput.value.trim();
    if (!name) { introError.textContent = "Please tell us your name."; return; }
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      introError.textContent = "Please enter a valid e-mail address."; return;
    }
    introError.textContent = "";
    state.name = name; state.email = email; state.token = null; save();
    showForms(); connect(); text.focus();
  });

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = text.value;
    composerError.textContent = "";
    if (!body.trim()) return;
    if (body.length > maxChars) {
      composerError.textContent = "That message is too long (at most " + maxChars + " characters).";
      return;
    }
    state.outbox.push({ client_id: newId(), body: body });
    save(); renderPending(); text.value = "";
    if (!ws) connect(); else flush();
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    composerError.textContent = "";
    if (!file) return;
    if (file.size > maxFileBytes) {
      composerError.textContent = "That file is too large (at most " +
        Math.round(maxFileBytes / 1024) + " KB).";
      return;
    }
    var form = new FormData();
    form.append("token", state.token || "");
    form.append("client_id", newId());
    form.append("file", file, file.name);
    setStatus("Sending " + file.name + "…");
    post("/api/v1/channels/chat/files", form).then(function (r) {
      setStatus("");
      if (!r.ok) return problemOf(r).then(function (d) { composerError.textContent = d; });
      return r.json().then(function (answer) { if (answer.message) addMessage(answer.message); });
    }, function () {
      setStatus(""); composerError.textContent = "The file could not be sent; try again.";
    });
  });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit"));
    }
  });

  if (state.open) open(true);
  else if (state.token && state.name) connect();   // keep receiving replies while closed
})();
