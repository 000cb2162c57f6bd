/* The search filters on a phone: a modal dialog over the results, opened and
   closed by real buttons (templates: snippets/search_form.html,
   package/snippets/search_facets.html). While open, the layer is a dialog
   (role=dialog, aria-modal, labelled by its heading) and the focus stays inside
   it (Tab and Shift+Tab wrap around); closing (button or Escape) gives the
   focus back to the opener. Choosing a filter swaps the page in place (htmx):
   the layer closes and the focus goes to the results heading (the result
   count), at every width. Event delegation, so the buttons of swapped-in
   content work too. On a wide screen the filters are a sidebar, not a dialog. */
(function () {
  var FOCUSABLE = "a[href], button:not([disabled]), summary, input:not([disabled]), select, textarea, [tabindex]:not([tabindex='-1'])";
  var focusResults = false;

  function opener() { return document.querySelector(".udp-show-filters"); }
  function layer() { return document.getElementById("search-facets"); }
  function isOpen() { return document.body.classList.contains("filters-modal"); }

  function setOpen(open) {
    document.body.classList.toggle("filters-modal", open);
    var button = opener();
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
    var dialog = layer();
    if (!dialog) return;
    if (open) {
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-labelledby", "search-facets-title");
    } else {
      dialog.removeAttribute("role");
      dialog.removeAttribute("aria-modal");
      dialog.removeAttribute("aria-labelledby");
    }
  }

  function close() {
    setOpen(false);
    var button = opener();
    if (button) button.focus();
  }

  function focusables() {
    var dialog = layer();
    if (!dialog) return [];
    // not what a closed <details> hides (Chromium keeps its boxes)
    return Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      var folded = el.closest("details:not([open])");
      if (folded && !(el.tagName === "SUMMARY" && el.parentElement === folded)) return false;
      return el.getClientRects().length > 0;
    });
  }

  // the results heading ("12 Datensätze gefunden"), else the results
  function focusTheResults() {
    var results = document.getElementById("ergebnisse");
    if (!results) return;
    var heading = results.querySelector("h1, h2") || results;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest(".udp-show-filters")) {
      setOpen(true);
      var first = document.querySelector("#search-facets .udp-hide-filters");
      if (first) first.focus();
    } else if (target.closest(".udp-hide-filters")) {
      close();
    } else if (target.closest("#search-facets a[href], .filter-list a.remove")) {
      focusResults = true;  // a filter chosen or removed: the results follow
    }
  });

  var backwards = false;

  document.addEventListener("keydown", function (event) {
    if (!isOpen()) return;
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      backwards = event.shiftKey;
      var items = focusables();
      if (!items.length) return;
      var at = items.indexOf(document.activeElement);
      if (backwards && at <= 0) {
        event.preventDefault();
        items[items.length - 1].focus();
      } else if (!backwards && (at === -1 || at === items.length - 1)) {
        event.preventDefault();
        items[0].focus();
      }
    }
  });

  // a focus that lands outside the open dialog (Tab past its ends, a click, a
  // script) goes back in: to its last control when going backwards
  document.addEventListener("focusin", function (event) {
    if (!isOpen()) return;
    var dialog = layer();
    if (dialog && event.target instanceof Node && !dialog.contains(event.target)) {
      var items = focusables();
      if (items.length) items[backwards ? items.length - 1 : 0].focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (isOpen()) setOpen(false);
    if (focusResults) {
      focusResults = false;
      focusTheResults();
    }
  });
})();
