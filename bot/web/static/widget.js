/* Embeddable chat button for a portal:
     <script src="https://bot.example/widget.js" defer></script>
   A floating button opens the chat page in an iframe. The portal's origin must be listed in the
   bot's WEB_ALLOWED_ORIGINS, or the browser refuses to show the frame. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.bdhvsWidget) return;
  window.bdhvsWidget = true;
  var chatUrl = new URL("./", script.src).href;
  var LABEL_OPEN = "💬 Hỏi đáp Bình dân học vụ số";
  var LABEL_CLOSE = "✕ Đóng trợ lý";
  var frame = null;

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = LABEL_OPEN;
  button.setAttribute("aria-expanded", "false");
  button.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;min-height:48px;" +
    "padding:10px 16px;border:0;border-radius:24px;background:#b3261e;color:#fff;font:600 16px system-ui,sans-serif;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.3);cursor:pointer";

  function toggle() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = chatUrl;
      frame.title = "Trợ lý Bình dân học vụ số";
      frame.style.cssText = "position:fixed;right:16px;bottom:76px;z-index:2147483000;border:1px solid #ccc;" +
        "border-radius:12px;background:#fff;width:min(400px,calc(100vw - 32px));height:min(640px,calc(100vh - 96px));" +
        "box-shadow:0 4px 16px rgba(0,0,0,.3)";
      document.body.appendChild(frame);
    } else {
      frame.style.display = frame.style.display === "none" ? "block" : "none";
    }
    var open = frame.style.display !== "none";
    button.textContent = open ? LABEL_CLOSE : LABEL_OPEN;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) frame.focus();
  }

  button.addEventListener("click", toggle);
  document.body.appendChild(button);
})();
