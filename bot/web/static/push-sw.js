/* The chat's service worker (served at /push-sw.js, so its scope is the chat page): shows the
   notification of a push message (bot/channels/web_push.py sends {title, body, tag, data: {id, url}})
   and, on a click, brings the chat to the front or opens it. Nothing is cached: the chat works as
   without it. */
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  var data = message.data || {};
  event.waitUntil(self.registration.showNotification(message.title || "Bình dân học vụ số", {
    body: message.body || "Bác có tin nhắn mới.",
    tag: message.tag || "bdhvs",
    lang: "vi",
    data: { id: data.id || null, url: new URL(data.url || "./", self.registration.scope).href }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url.indexOf(self.registration.scope) === 0 && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow ? self.clients.openWindow(url) : null;
  }));
});

// The browser replaced the subscription (keys rotated, expired): subscribe again with the same server
// key and tell the server; the old endpoint is disabled when its push service answers 410.
self.addEventListener("pushsubscriptionchange", function (event) {
  var old = event.oldSubscription;
  var key = old && old.options && old.options.applicationServerKey;
  if (!key) return;
  event.waitUntil(self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key })
    .then(function (subscription) {
      return fetch(new URL("api/push/subscribe", self.registration.scope).href, {
        method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(subscription)
      });
    }).catch(function () { /* the page subscribes again on its next visit */ }));
});
