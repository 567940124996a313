// Copy buttons of the settings pages: <button type="button" class="copy" data-copy="VALUE">.
// A static file (no inline script) so the pages pass a Content-Security-Policy without 'unsafe-inline'.
(function () {
  "use strict";

  function fallbackCopy(text) {
    // Older browsers, and pages not served over HTTPS (no navigator.clipboard there).
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (e) {
      done = false;
    }
    document.body.removeChild(area);
    return done;
  }

  function shown(button, ok) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = ok ? button.getAttribute("data-copied") || "Copied" : button.getAttribute("data-failed") || "Select and copy";
    button.classList.toggle("copied", ok);
    window.setTimeout(function () {
      button.textContent = label;
      button.classList.remove("copied");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var text = button.getAttribute("data-copy") || "";
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { shown(button, true); },
        function () { shown(button, fallbackCopy(text)); }
      );
    } else {
      shown(button, fallbackCopy(text));
    }
  });
})();
