/* Dataset page: the "Copy text" button beside the attribution text. Shown
   only when the clipboard can be written (the text stays selectable). */
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  document.querySelectorAll("[data-udp-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-udp-copy"));
    if (!source) {
      return;
    }
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-udp-copied") || label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
})();
