/* The search filters on a phone: a layer over the results, opened and closed by
   real buttons (templates: snippets/search_form.html, package/snippets/search_facets.html).
   Opening moves the focus into the layer, closing (button or Escape) back to the
   opener. Choosing a filter swaps the page in place (htmx): the layer closes and the
   focus goes to the results the visitor asked for. Event delegation, so the buttons
   of swapped-in content work too. */
(function () {
  function opener() { return document.querySelector(".udp-show-filters"); }
  function isOpen() { return document.body.classList.contains("filters-modal"); }

  function setOpen(open) {
    document.body.classList.toggle("filters-modal", open);
    var button = opener();
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest(".udp-show-filters")) {
      setOpen(true);
      var close = document.querySelector("#search-facets .udp-hide-filters");
      if (close) close.focus();
    } else if (target.closest(".udp-hide-filters")) {
      setOpen(false);
      var button = opener();
      if (button) button.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      setOpen(false);
      var button = opener();
      if (button) button.focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (!isOpen()) return;
    setOpen(false);
    var results = document.getElementById("ergebnisse");
    if (results) results.focus();
  });
})();
