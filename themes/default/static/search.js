// The search page: Pagefind's UI over the offline index; ?q= from the header box runs at once.
(function () {
  "use strict";
  var element = document.getElementById("search");
  if (!element) { return; }
  if (window.location.protocol === "file:" || typeof PagefindUI === "undefined") {
    // the index is fetched by the browser, which it will not do for a page opened from disk
    var note = document.createElement("p");
    note.className = "search-unavailable";
    note.setAttribute("role", "status");
    note.textContent = element.getAttribute("data-unavailable");
    element.appendChild(note);
    return;
  }
  // the index knows pages from the site root; where that root is, only the browser knows
  var baseUrl = new URL(element.getAttribute("data-base"), window.location.href).pathname;
  var merge = (element.getAttribute("data-merge") || "").split(" ").filter(Boolean).map(function (path) {
    return { bundlePath: path, baseUrl: baseUrl };
  });
  var ui = new PagefindUI({
    element: "#search",
    bundlePath: element.getAttribute("data-bundle"),
    mergeIndex: merge,
    baseUrl: baseUrl,
    showSubResults: true,
    showImages: false,
    resetStyles: false
  });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) { ui.triggerSearch(query); }
})();
