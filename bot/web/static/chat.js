/* The chat page: plain JavaScript, no framework. Everything from the bot or the person is put on
   the page with textContent, never as HTML. Texts for people are in index.html (data-* on <body>).
   On load it shows the visitor's history (api/history), then keeps a live stream open (api/events):
   a team member's answer, a campaign message or a quiz push appears without a reload. Every message
   has an id; one already shown (the reply to this page's own request, or one seen before a reconnect)
   is not shown twice. */
(function () {
  "use strict";
  var body = document.body;
  var say = body.dataset;
  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("ask");
  var input = document.getElementById("question");
  var sendButton = document.getElementById("send");
  var largeButton = document.getElementById("large-text");
  var LARGE_KEY = "bdhvs-large-text";
  var busy = false;
  var seen = {};  // ids of the messages on the page
  var lastId = 0;  // the highest id shown: where the live stream resumes
  var held = [];  // live messages that arrived while a request was on its way
  var stream = null;

  function remembered() {
    try { return localStorage.getItem(LARGE_KEY) === "1"; } catch (e) { return false; }
  }

  function setLarge(on) {
    document.documentElement.classList.toggle("large", on);
    largeButton.setAttribute("aria-pressed", on ? "true" : "false");
    try { localStorage.setItem(LARGE_KEY, on ? "1" : "0"); } catch (e) { /* private mode: not remembered */ }
  }

  function bubble(who, text) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    var label = document.createElement("span");
    label.className = "sr-only";
    label.textContent = (who === "user" ? say.you : who === "team" ? say.team : say.bot) + " ";
    div.appendChild(label);
    text.split("\n\n").forEach(function (part) {
      var p = document.createElement("p");
      p.textContent = part;
      if (who !== "user" && part.indexOf(say.source) === 0) p.className = "source";
      if (who !== "user" && part.indexOf(say.matched) === 0) p.className = "matched";  // "Về câu hỏi: «…»"
      div.appendChild(p);
    });
    log.appendChild(div);
    div.scrollIntoView({ block: who === "bot" ? "start" : "end" });  // an answer is read from its start
    return div;
  }

  function choiceButton(button, group) {
    if (button.url) {
      if (!/^https?:\/\//i.test(button.url)) return null;
      var a = document.createElement("a");
      a.href = button.url;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.textContent = button.label;
      return a;
    }
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = button.label;
    b.addEventListener("click", function () {
      if (busy) return;
      var kind = button.data.split(":")[0];
      // one vote, one quiz answer, one pick among the candidates, one «Xem tiếp» per screen
      if (kind === "fb" || kind === "qa" || kind === "cand" || kind === "more" || kind === "ct") {
        group.querySelectorAll("button").forEach(function (other) {
          if (other.dataset.kind === kind) other.disabled = true;
        });
        input.focus();
      }
      send({ button: button.data, shown: button.label }, button.label);
    });
    b.dataset.kind = button.data.split(":")[0];
    return b;
  }

  function remember(message) {
    if (!message || message.id === null || message.id === undefined) return false;
    if (seen[message.id]) return true;
    seen[message.id] = true;
    if (message.id > lastId) lastId = message.id;
    return false;
  }

  function show(message) {  // a stored message (history or live): the visitor's own, the bot's or the team's
    if (remember(message)) return;
    if (message.from === "user") bubble("user", message.text);
    else showReply(message, message.from === "team" ? "team" : "bot");
  }

  function showReply(message, who) {
    var div = bubble(who || "bot", message.text);
    if (!message.buttons || !message.buttons.length) return;
    var group = document.createElement("div");
    group.className = "choices";
    message.buttons.forEach(function (row) {
      var line = document.createElement("div");
      line.className = "pair";
      row.forEach(function (button) {
        var el = choiceButton(button, group);
        if (el) line.appendChild(el);
      });
      group.appendChild(line);
    });
    div.appendChild(group);
    if (message.quiz && message.quiz.seconds > 0) countdown(div, group, message.quiz.seconds);
  }

  // a timed (contest) question: the seconds left, then the buttons are disabled
  function countdown(div, group, seconds) {
    var line = document.createElement("p");
    line.className = "countdown";
    line.setAttribute("aria-live", "off");
    div.insertBefore(line, group);
    var end = Date.now() + seconds * 1000;
    function tick() {
      var left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      line.textContent = left > 0 ? say.countdown.replace("{s}", String(left)) : say.timeup;
      if (left > 0 && !group.querySelector("button:disabled")) {
        setTimeout(tick, 1000);
      } else if (left <= 0) {
        group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }
    }
    tick();
  }

  function setBusy(on) {
    busy = on;
    sendButton.disabled = on;
    statusLine.textContent = on ? say.waiting : "";
    if (!on) held.splice(0).forEach(show);
  }

  function send(payload, shown) {
    if (busy) return;
    if (shown) bubble("user", shown);
    setBusy(true);
    fetch("api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { bubble("bot", data.message || say.offline); return; }
        remember(data.echo);
        (data.messages || []).forEach(function (message) {
          if (!remember(message)) showReply(message);
        });
      });
    }, function () {
      bubble("bot", say.offline);
    }).then(function () { setBusy(false); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    send({ text: text }, text);
  });

  document.querySelectorAll("[data-send]").forEach(function (b) {
    b.addEventListener("click", function () {
      var command = b.dataset.send;
      var question = input.value.trim();
      if (b.dataset.withQuestion && question) {
        input.value = "";
        command += " " + question;
      }
      var shown = b.textContent + (command.indexOf(" ") > 0 ? ": " + question : "");
      send({ text: command, shown: shown }, shown);
      if (b.dataset.withQuestion && !question) input.focus();  // the reply asks for the question in words
    });
  });

  function listen() {
    if (!window.EventSource) return;
    stream = new EventSource("api/events?after=" + lastId);
    stream.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (busy) held.push(message); else show(message);
    });
    stream.addEventListener("error", function () {
      // the browser reconnects by itself (with Last-Event-ID); once it gives up, try again later
      if (stream.readyState === EventSource.CLOSED) {
        stream = null;
        setTimeout(listen, 10000);
      }
    });
  }

  function start() {
    fetch("api/history", { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : { messages: [] };
    }, function () {
      return { messages: [] };
    }).then(function (data) {
      var past = data.messages || [];
      past.forEach(show);
      listen();
      if (!past.length) send({ text: "/start" });
    });
  }

  largeButton.addEventListener("click", function () {
    setLarge(!document.documentElement.classList.contains("large"));
  });

  setLarge(remembered());
  start();
})();
