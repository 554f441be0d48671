// Sortable tables: progressive enhancement; without JavaScript the table stays as built.
(function () {
  "use strict";
  function cellValue(row, index, type) {
    var cell = row.children[index];
    var raw = cell.getAttribute("data-value");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (type === "number") { var n = parseFloat(raw); return isNaN(n) ? -Infinity : n; }
    return raw;
  }
  function sortBy(table, index, header) {
    var type = header.getAttribute("data-type") || "text";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      var order = type === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN");
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });
})();
// Filterable tables: a text box and an "errors only" box above the table; without JavaScript
// the controls stay hidden and the whole table is shown.
(function () {
  "use strict";
  document.querySelectorAll(".table-filter[data-filter-for]").forEach(function (box) {
    var table = document.getElementById(box.getAttribute("data-filter-for"));
    if (!table) { return; }
    var text = box.querySelector(".filter-text");
    var errors = box.querySelector(".filter-errors");
    var count = box.querySelector(".filter-count");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var needle = text.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var keep = (!needle || row.textContent.toLowerCase().indexOf(needle) !== -1) &&
          (!errors.checked || row.getAttribute("data-errors") !== "0");
        row.hidden = !keep;
        if (keep) { shown += 1; }
      });
      count.textContent = box.getAttribute("data-shown-text")
        .replace("{shown}", shown).replace("{total}", rows.length);
    }
    text.addEventListener("input", apply);
    errors.addEventListener("change", apply);
    box.hidden = false;
    apply();
  });
})();
