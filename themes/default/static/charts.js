// Draw every chart on the page from its JSON spec (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var plots = [];
  document.querySelectorAll(".chart-plot[data-spec]").forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent);
    var config = Object.assign({}, spec.config, { displayModeBar: false });
    Plotly.newPlot(el, spec.figure.data, spec.figure.layout, config).then(function () {
      el.setAttribute("data-rendered", "true");
    });
    plots.push(el);
  });
  function resizeAll() { plots.forEach(function (el) { Plotly.Plots.resize(el); }); }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
