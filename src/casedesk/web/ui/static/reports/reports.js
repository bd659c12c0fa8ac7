/* Report charts: each <figure class="report-chart"> is drawn with the vendored Chart.js from
   the numbers of the table beside it (data-value of its cells), so the chart and its table
   (and its CSV) always show the same figures. No inline script: the CSP forbids it. */
(function () {
  "use strict";
  var PALETTE = ["#2f6fed", "#e07b00", "#2a9d6f", "#b3261e", "#7b4bd1", "#5f6b7a", "#c2185b",
                 "#00838f", "#8d6e00", "#4e7d00"];

  function columnValues(table, index, numeric) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      var cell = row.cells[index];
      if (!numeric) { return cell.textContent.trim(); }
      var raw = cell.getAttribute("data-value");
      return raw === null ? null : Number(raw);
    });
  }

  function draw(figure) {
    var table = document.getElementById(figure.getAttribute("data-table"));
    if (!table || !window.Chart) { return; }
    var kind = figure.getAttribute("data-chart");
    var hours = figure.getAttribute("data-units") === "seconds";
    var headers = table.tHead.rows[0].cells;
    var x = Number(figure.getAttribute("data-x"));
    var series = figure.getAttribute("data-series").split(",").map(Number);
    var datasets = series.map(function (index, i) {
      var values = columnValues(table, index, true).map(function (v) {
        return v === null ? null : (hours ? Math.round(v / 36) / 100 : v);
      });
      var colour = PALETTE[i % PALETTE.length];
      return {
        label: headers[index].textContent.trim() + (hours ? " (hours)" : ""),
        data: values,
        backgroundColor: colour,
        borderColor: colour,
        fill: false,
        tension: 0.2,
        pointRadius: kind === "line" ? 2 : 0
      };
    });
    var stacked = kind === "stacked";
    new window.Chart(figure.querySelector("canvas"), {
      type: kind === "line" ? "line" : "bar",
      data: { labels: columnValues(table, x, false), datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: stacked },
          y: { stacked: stacked, beginAtZero: true,
               title: { display: hours, text: "hours" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("figure.report-chart"), draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
