/* «🔔 Nhận thông báo»: browser notifications of team answers and campaign messages while the chat
   is closed (Web Push; bot/channels/web_push.py). Shown only when the server has push on (data-push on
   <body>, then api/push/key answers), the browser can do it, the page is not inside another site's
   frame (browsers refuse to ask there) and the visitor has not blocked notifications. A refusal or a
   browser that cannot subscribe is handled quietly: one short line, no error. Texts: data-* on <body>. */
(function () {
  "use strict";
  var say = document.body.dataset;
  var button = document.getElementById("push");
  var statusLine = document.getElementById("status");
  if (!button || say.push !== "on") return;
  try { if (window.self !== window.top) return; } catch (e) { return; }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  if (Notification.permission === "denied") return;
  var key = null;
  var registration = null;
  var subscription = null;
  var working = false;

  function tell(text) { statusLine.textContent = text || ""; }

  function show() {
    button.hidden = false;
    button.textContent = subscription ? say.pushOff : say.pushOn;
    button.setAttribute("aria-pressed", subscription ? "true" : "false");
  }

  function keyBytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function sameKey(sub) {
    var given = sub.options && sub.options.applicationServerKey;
    if (!given) return true;
    var mine = keyBytes(key);
    var theirs = new Uint8Array(given);
    if (mine.length !== theirs.length) return false;
    for (var i = 0; i < mine.length; i++) if (mine[i] !== theirs[i]) return false;
    return true;
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) { if (!response.ok) throw new Error("push " + response.status); });
  }

  function permission() {
    if (Notification.permission === "granted") return Promise.resolve("granted");
    return new Promise(function (resolve) {
      var asked = Notification.requestPermission(resolve);  // older browsers: the callback; newer: a promise
      if (asked && asked.then) asked.then(resolve, function () { resolve("default"); });
    });
  }

  function turnOn() {
    return permission().then(function (answer) {
      if (answer === "denied") { button.hidden = true; tell(say.pushDenied); return; }
      if (answer !== "granted") return;  // the prompt was closed: ask again another time
      return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) })
        .then(function (sub) {
          return post("api/push/subscribe", sub.toJSON()).then(function () {
            subscription = sub;
            tell(say.pushDone);
          }, function (error) { sub.unsubscribe(); throw error; });
        });
    });
  }

  function turnOff() {
    var sub = subscription;
    subscription = null;
    tell(say.pushStopped);
    return post("api/push/unsubscribe", { endpoint: sub.endpoint }).catch(function () {}).then(function () {
      return sub.unsubscribe();
    });
  }

  button.addEventListener("click", function () {
    if (working) return;
    working = true;
    (subscription ? turnOff() : turnOn()).catch(function () {
      tell(say.pushFailed);  // no push service here (or offline): the chat works as before
    }).then(function () { working = false; show(); });
  });

  fetch("api/push/key", { credentials: "same-origin" }).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (data) {
    if (!data || !data.key) return null;
    key = data.key;
    return navigator.serviceWorker.register("push-sw.js", { scope: "./" });
  }).then(function (reg) {
    if (!reg) return null;
    registration = reg;
    return reg.pushManager.getSubscription().then(function (sub) {
      if (sub && !sameKey(sub)) return sub.unsubscribe().then(function () { return null; });  // the server's key changed
      return sub;
    });
  }).then(function (sub) {
    if (!registration) return;
    if (sub && Notification.permission === "granted") {
      subscription = sub;
      post("api/push/subscribe", sub.toJSON()).catch(function () {});  // renewed: this visitor, this browser
    }
    show();
  }).catch(function () { /* no push in this browser: no bell */ });
})();
