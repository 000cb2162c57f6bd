/* On a phone CKAN shows the search filters as a layer over the results ("Ergebnisse filtern").
   Choosing a filter swaps the page in place (htmx), which leaves that layer open over the new
   results; once the page has been swapped the visitor sees the results they asked for. */
document.addEventListener("htmx:afterSwap", function () {
  document.body.classList.remove("filters-modal");
});
