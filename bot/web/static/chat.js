/* The chat page: plain JavaScript, no framework. Everything from the bot or the person is put on
   the page with textContent, never as HTML. Texts for people are in index.html (data-* on <body>). */
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
    label.textContent = (who === "user" ? say.you : say.bot) + " ";
    div.appendChild(label);
    text.split("\n\n").forEach(function (part) {
      var p = document.createElement("p");
      p.textContent = part;
      if (who === "bot" && part.indexOf(say.source) === 0) p.className = "source";
      if (who === "bot" && part.indexOf(say.matched) === 0) p.className = "matched";  // "Về câu hỏi: «…»"
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
      send({ button: button.data }, button.label);
    });
    b.dataset.kind = button.data.split(":")[0];
    return b;
  }

  function showReply(message) {
    var div = bubble("bot", message.text);
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
        if (!response.ok) bubble("bot", data.message || say.offline);
        else (data.messages || []).forEach(showReply);
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
      send({ text: command }, b.textContent + (command.indexOf(" ") > 0 ? ": " + question : ""));
    });
  });

  largeButton.addEventListener("click", function () {
    setLarge(!document.documentElement.classList.contains("large"));
  });

  setLarge(remembered());
  send({ text: "/start" });
})();
