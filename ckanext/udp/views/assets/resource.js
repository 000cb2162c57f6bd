/* Resource pages: CKAN names the preview's frame in English ("Data viewer"); give it the German name. */
(function () {
  "use strict";
  function name() {
    var source = document.querySelector("[data-udp-viewer-label]");
    if (!source) return;
    document.querySelectorAll('iframe[data-module="data-viewer"]').forEach(function (frame) {
      frame.setAttribute("aria-label", source.getAttribute("data-udp-viewer-label"));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", name);
  else name();
})();
