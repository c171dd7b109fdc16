/*! Bellhop widget loader. Paste into a page:
 *  <script src="https://BELLHOP/widget.js" data-site="WIDGET_KEY" async></script>
 * It draws the chat bubble in a Shadow DOM (no styles leak either way) and frames the
 * chat panel from the Bellhop server's own origin when it is needed. The page talks to it
 * through window.Bellhop; calls made before it loaded are queued in window.Bellhop.q.
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  if (!script || w.__bellhop) return;
  var key = script.getAttribute("data-site") || "";
  var base = new URL(script.src, location.href).origin;
  var pageOrigin = location.origin;
  var queued = (w.Bellhop && w.Bellhop.q) || [];
  var prefix = "bellhop:" + key + ":";
  var listeners = {};
  var frame = null, ready = false, open = false, unread = 0;
  var toPanel = [];
  var title = d.title;
  var pageStart = Date.now();
  var sound = false;

  // The site's optional chime for a new message while the panel is closed.
  function chime() {
    try {
      var audio = new (w.AudioContext || w.webkitAudioContext)();
      var tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.18);
      setTimeout(function () { audio.close(); }, 500);
    } catch (e) { /* no audio: the badge and the title still tell */ }
  }
  var lang = d.documentElement.lang || navigator.language || "";
  // The site's texts, colour, side and greetings, once the config is here.
  var texts = { open_chat: "Open chat", close: "Close chat", unread: "{n} unread" };
  function t(name, n) { return String(texts[name] || "").replace(/\{\w+\}/, n); }

  function load(name) {
    try { return w.localStorage.getItem(prefix + name); } catch (e) { return null; }
  }
  function save(name, value) {
    try {
      if (value == null) w.localStorage.removeItem(prefix + name);
      else w.localStorage.setItem(prefix + name, value);
    } catch (e) { /* storage denied: nothing to keep */ }
  }
  function emit(name, data) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  // The host element: a custom element (page rules for div, iframe… never match it), its
  // placement set inline with !important so page styles cannot move or hide it.
  var host = d.createElement("bellhop-widget");
  var place = {
    all: "initial", position: "fixed", "z-index": "2147483000", right: "20px", bottom: "20px",
    display: "block", width: "auto", height: "auto", margin: "0", padding: "0", border: "0"
  };
  for (var p in place) host.style.setProperty(p, place[p], "important");
  var root = host.attachShadow({ mode: "open" });
  var css =
    ":host{all:initial}" +
    "*{box-sizing:border-box}" +
    ".bubble{all:initial;box-sizing:border-box;display:flex;align-items:center;justify-content:center;" +
    "width:60px;height:60px;border-radius:50%;background:var(--accent,#1f5fbf);color:#fff;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.28);transition:transform .15s}" +
    ".bubble:hover{transform:scale(1.06)}" +
    ".bubble:focus-visible{outline:3px solid #111;outline-offset:3px}" +
    ".bubble svg{width:30px;height:30px;fill:currentColor}" +
    ".badge{all:initial;position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;" +
    "border-radius:11px;background:#c62828;color:#fff;font:bold 12px/22px system-ui,sans-serif;" +
    "text-align:center;box-sizing:border-box}" +
    ".badge[hidden],.panel[hidden]{display:none}" +
    ".panel{all:initial;position:fixed;right:20px;bottom:92px;width:376px;height:min(600px,calc(100vh - 112px));" +
    "border-radius:14px;overflow:hidden;background:#fff;box-shadow:0 10px 40px rgba(0,0,0,.3);display:block}" +
    ".panel iframe{all:initial;display:block;width:100%;height:100%;border:0}" +
    ".w.left .panel{right:auto;left:20px}.w.left .greet{right:auto;left:0}" +
    ".greet{all:initial;position:absolute;right:0;bottom:72px;width:max-content;max-width:260px;display:flex;" +
    "gap:6px;align-items:flex-start;padding:10px 12px;border-radius:12px;background:#fff;color:#1d1d1f;" +
    "font:14px/1.4 system-ui,sans-serif;box-shadow:0 4px 18px rgba(0,0,0,.22);cursor:pointer}" +
    ".greet[hidden]{display:none}.greet button{all:initial;cursor:pointer;font:18px/1 system-ui,sans-serif;color:#55585e}" +
    ".greet button:focus-visible,.greet:focus-visible{outline:3px solid #111;outline-offset:2px}" +
    "@media (max-width:480px){.panel{inset:0;width:100vw;height:100vh;border-radius:0}" +
    ".w.open .bubble{display:none}}";
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    // Older browsers: a style element (a page policy without 'unsafe-inline' blocks it).
    var style = d.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
  var panel = d.createElement("div");
  panel.className = "panel";
  panel.hidden = true;
  var bubble = d.createElement("button");
  bubble.className = "bubble";
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Open chat");
  bubble.setAttribute("aria-expanded", "false");
  var svgNs = "http://www.w3.org/2000/svg";
  var icon = d.createElementNS(svgNs, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var path = d.createElementNS(svgNs, "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  icon.appendChild(path);
  bubble.appendChild(icon);
  var badge = d.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  bubble.appendChild(badge);
  // On a phone the open panel fills the screen and has its own close button.
  var wrap = d.createElement("div");
  var side = "";
  wrap.className = "w";
  wrap.appendChild(panel);
  wrap.appendChild(bubble);
  // A proactive greeting beside the bubble (see greet()).
  var greeting = d.createElement("div");
  greeting.className = "greet";
  greeting.hidden = true;
  greeting.tabIndex = 0;
  greeting.setAttribute("role", "status");
  var greetingText = d.createElement("span");
  var dismiss = d.createElement("button");
  dismiss.type = "button";
  dismiss.textContent = "×";
  greeting.appendChild(greetingText);
  greeting.appendChild(dismiss);
  wrap.appendChild(greeting);
  root.appendChild(wrap);

  function post(message) {
    message.bellhop = 1;
    if (ready && frame && frame.contentWindow) frame.contentWindow.postMessage(message, base);
    else toPanel.push(message);
  }

  function utm() {
    var out = {}, q = new URLSearchParams(location.search);
    ["source", "medium", "campaign", "term", "content"].forEach(function (n) {
      var v = q.get("utm_" + n);
      if (v) out[n] = v;
    });
    return out;
  }

  function ensureFrame() {
    if (frame) return;
    frame = d.createElement("iframe");
    frame.title = "Chat";
    frame.src = base + "/widget/panel?key=" + encodeURIComponent(key) +
      "&origin=" + encodeURIComponent(pageOrigin);
    panel.appendChild(frame);
  }

  function showUnread() {
    badge.hidden = open || unread === 0;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    bubble.setAttribute("aria-label", open ? t("close") : t("open_chat") + (unread ? ", " + t("unread", unread) : ""));
    d.title = unread && !open ? "(" + unread + ") " + title : title;
  }

  function setOpen(next) {
    if (next === open) return;
    open = next;
    if (open) ensureFrame();
    panel.hidden = !open;
    wrap.className = "w" + side + (open ? " open" : "");
    if (open) greeting.hidden = true;
    bubble.setAttribute("aria-expanded", String(open));
    post({ type: open ? "open" : "close" });
    // A framed page may not take the focus by itself: hand it the focus, and the panel puts
    // it in its message box.
    if (open && frame) frame.focus();
    showUnread();
    emit(open ? "open" : "close");
    if (!open) bubble.focus();
  }

  w.addEventListener("message", function (e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== base) return;
    var m = e.data;
    if (!m || m.bellhop !== 1) return;
    switch (m.type) {
      case "ready":
        ready = true;
        frame.contentWindow.postMessage({
          bellhop: 1, type: "init", open: open,
          page: {
            url: location.href, title: title, referrer: d.referrer || null,
            lang: lang, utm: utm(),
            browser: browserId, returning: returning, visit: visitStart
          },
          // The panel's own storage may be denied in a cross-site frame: what it asked the
          // page to keep for it comes back here.
          stored: { token: load("token"), snapshot: load("snapshot") }
        }, base);
        toPanel.splice(0).forEach(function (msg) { frame.contentWindow.postMessage(msg, base); });
        break;
      case "store":
        if (m.name === "token" || m.name === "snapshot") save(m.name, m.value);
        break;
      case "active":
        save("active", m.value ? "1" : null);
        if (m.value) greeting.hidden = true;
        break;
      case "look":
        configure(m);
        break;
      case "unread":
        if (sound && !open && (m.count | 0) > unread) chime();
        unread = Math.max(0, m.count | 0);
        showUnread();
        emit("unread", unread);
        break;
      case "close":
        setOpen(false);
        break;
      case "event":
        emit(String(m.name), m.data);
        break;
    }
  });

  bubble.addEventListener("click", function () { setOpen(!open); });
  greeting.addEventListener("click", function (e) {
    greeting.hidden = true;
    if (e.target !== dismiss) setOpen(true);
  });
  greeting.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target === greeting) { greeting.hidden = true; setOpen(true); }
  });
  bubble.addEventListener("mouseenter", ensureFrame);
  bubble.addEventListener("focus", ensureFrame);
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && open) setOpen(false); });

  var api = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!open); },
    identify: function (who) { post({ type: "identify", identity: who }); },
    setAttributes: function (attributes) { post({ type: "attributes", attributes: attributes }); },
    setDepartment: function (name) { post({ type: "department", name: String(name) }); },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    off: function (name, fn) {
      listeners[name] = (listeners[name] || []).filter(function (f) { return f !== fn; });
    },
    reset: function () {
      save("token", null); save("snapshot", null); save("active", null);
      post({ type: "reset" });
    }
  };
  w.Bellhop = api;
  w.__bellhop = true;

  // A visit is one browser session; a visitor is returning when this browser saw the site in
  // an earlier visit. The panel reports both (with a random id for this browser) to the
  // server's list of live visitors, and the loader shows greetings by them.
  var visitStart = +(sessionStore("visit") || 0);
  if (!visitStart) {
    visitStart = Date.now();
    sessionStore("visit", String(visitStart));
    sessionStore("returning", load("seen") ? "1" : "0");
    save("seen", "1");
  }
  var returning = sessionStore("returning") === "1";
  var browserId = load("browser") || Math.random().toString(36).slice(2) + Date.now().toString(36);
  save("browser", browserId);

  function sessionStore(name, value) {
    try {
      if (value === undefined) return w.sessionStorage.getItem(prefix + name);
      w.sessionStorage.setItem(prefix + name, value);
    } catch (e) { return null; }
  }

  // The site's look, texts and greetings, as the panel read them from the widget config (the
  // loader itself fetches nothing, so a page's policy needs no connect-src for Bellhop).
  function configure(config) {
    texts = config.texts || texts;
    sound = config.sound === true;
    host.style.setProperty("--accent", config.color, "important");
    if (config.position === "left") {
      side = " left";
      host.style.setProperty("left", "20px", "important");
      host.style.setProperty("right", "auto", "important");
      wrap.className = "w" + side + (open ? " open" : "");
    }
    dismiss.setAttribute("aria-label", t("greeting_dismiss"));
    showUnread();
    greet(config.greetings || []);
  }

  // The first rule that matches this page and visitor, once per visitor and rule, never
  // during a chat.
  function greet(rules) {
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i], id = "greeted:" + rule.text;
      if (rule.url_contains && location.href.indexOf(rule.url_contains) < 0) continue;
      if (rule.audience === "new" && returning) continue;
      if (rule.audience === "returning" && !returning) continue;
      if (load(id)) return;
      setTimeout(function (rule, id) {
        if (open || load("active") || load(id)) return;
        save(id, "1");
        greetingText.textContent = rule.text;
        greeting.hidden = false;
        emit("greeting", rule.text);
      }, Math.max(0, Date.now() + (rule.after_secs | 0) * 1000 - pageStart), rule, id);
      return;
    }
  }

  function mount() {
    (d.body || d.documentElement).appendChild(host);
    queued.forEach(function (call) {
      var fn = api[call[0]];
      if (typeof fn === "function") fn.apply(api, [].slice.call(call, 1));
    });
    // A visitor with an open conversation sees unread replies on every page: load at once.
    if (load("active")) ensureFrame();
    else if (w.requestIdleCallback) w.requestIdleCallback(ensureFrame, { timeout: 5000 });
    else setTimeout(ensureFrame, 2000);
  }
  if (d.body) mount();
  else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
