// Beacon console charts: every element with a data-chart attribute (an ECharts option as
// JSON, rendered by the server) becomes a chart. No inline scripts, no eval, no functions in
// options. Charts are disposed before htmx replaces them, so a wall screen left open for
// days keeps a bounded number of chart instances.
(function () {
  "use strict";
  const echarts = window.echarts;
  if (!echarts) return;
  const locale = document.body.dataset.lang === "en" ? "EN" : "ZH";

  function initialise(root) {
    const scope = root || document;
    const found = Array.from(scope.querySelectorAll("[data-chart]"));
    if (scope instanceof Element && scope.hasAttribute("data-chart")) found.push(scope);
    found.forEach(function (el) {
      if (echarts.getInstanceByDom(el)) return;
      let option;
      try {
        option = JSON.parse(el.dataset.chart);
      } catch (e) {
        return;  // a broken option leaves the element as it is
      }
      echarts.init(el, null, {locale: locale, renderer: "canvas"}).setOption(option);
    });
  }

  function dispose(root) {
    if (!(root instanceof Element)) return;
    const found = Array.from(root.querySelectorAll("[data-chart]"));
    if (root.hasAttribute("data-chart")) found.push(root);
    found.forEach(function (el) {
      const chart = echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  }

  function resizeAll() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      const chart = echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }

  let resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeAll, 150);
  });
  // The swap target's old content is about to go: free its charts first.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.shouldSwap) dispose(event.detail.target);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    initialise(event.detail.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initialise(document); });
  } else {
    initialise(document);
  }
  window.beaconCharts = {
    count: function () {
      return Array.from(document.querySelectorAll("[data-chart]"))
        .filter(function (el) { return echarts.getInstanceByDom(el); }).length;
    },
  };
})();
