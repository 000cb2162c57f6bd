/* The Klimadashboard's tiles: a small uPlot chart per tile (udp_views/uplot), and
   polling of each tile's daten.json every data-klima-refresh seconds while the page
   is visible (paused when hidden, refreshed at once when shown again) and not paused
   by its button ("Aktualisierung anhalten", WCAG 2.2.2). Only the changed texts and
   tables are replaced (the value sits in an aria-live="polite" region); the
   German strings come formatted from the server (display). */
(function () {
  "use strict";

  var TONES = {good: "#2e7d32", fair: "#b07d00", poor: "#c62828"};

  function seconds(iso) { return Date.parse(iso) / 1000; }

  function chart(tile, points) {
    var box = tile.querySelector("[data-klima-chart]");
    if (!box || typeof uPlot === "undefined") return null;
    var xs = [], ys = [];
    points.forEach(function (p) { xs.push(seconds(p[0])); ys.push(p[1]); });
    box.innerHTML = "";
    if (!xs.length) return null;
    var unit = tile.getAttribute("data-klima-unit") || "";
    var daily = tile.getAttribute("data-klima-kind") === "daily";
    // German axis labels in Europe/Berlin: "14:00" for hours, "29.11." for days
    function label(ts) {
      var d = new Date(ts * 1000);
      return daily ? d.toLocaleDateString("de-DE", {day: "2-digit", month: "2-digit", timeZone: "Europe/Berlin"})
                   : d.toLocaleTimeString("de-DE", {hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin"});
    }
    var opts = {
      width: Math.max(200, box.clientWidth || 280),
      height: 150,
      legend: {show: false},
      cursor: {show: false},
      scales: {x: {time: true}},
      axes: [{size: 30, values: function (u, splits) { return splits.map(label); }},
             {size: 45, label: unit, labelSize: 14,
              values: function (u, splits) { return splits.map(function (v) { return v.toLocaleString("de-DE"); }); }}],
      series: [{}, {stroke: "#005a9c", width: 2, fill: "rgba(0, 90, 156, 0.08)", spanGaps: true}]
    };
    var plot = new uPlot(opts, [xs, ys], box);
    box.querySelectorAll("canvas").forEach(function (c) { c.setAttribute("aria-hidden", "true"); });
    return plot;
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function update(tile, data) {
    var d = data.display;
    setText(tile.querySelector("[data-klima-value]"), d.value);
    setText(tile.querySelector("[data-klima-time]"), d.time);
    setText(tile.querySelector("[data-klima-trend]"), d.trend || "–");
    setText(tile.querySelector("[data-klima-band]"), d.band);
    var bandBox = tile.querySelector("[data-klima-band-box]");
    if (bandBox) bandBox.hidden = !d.band;
    ["good", "fair", "poor"].forEach(function (t) { tile.classList.toggle("udp-klima-tone-" + t, d.tone === t); });
    setText(tile.querySelector("[data-klima-alt]"), d.alt);  // a count tile's hidden text
    var box = tile.querySelector("[data-klima-chart]");
    if (box) box.setAttribute("aria-label", d.alt);
    // the table (perhaps open in its <details>) is rebuilt only when its rows changed
    var body = tile.querySelector("[data-klima-rows]");
    var rowsKey = JSON.stringify(d.rows);
    if (body && rowsKey !== tile._klimaRows) {
      tile._klimaRows = rowsKey;
      var html = document.createDocumentFragment();
      d.rows.forEach(function (r) {
        var tr = document.createElement("tr");
        r.forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
        html.appendChild(tr);
      });
      body.replaceChildren(html);
      tile.setAttribute("data-klima-rebuilt", String((parseInt(tile.getAttribute("data-klima-rebuilt"), 10) || 0) + 1));
    }
    var key = JSON.stringify(data.points);
    if (key !== tile._klimaPoints) { tile._klimaPoints = key; chart(tile, data.points); }
    tile.setAttribute("data-klima-updated", new Date().toISOString());
  }

  // isPaused(): an answer that arrives after the person paused is dropped (nothing changes
  // while paused, WCAG 2.2.2); a tile whose last request is still out is not asked again
  // (a slow server never gets a pile of requests).
  function poll(tile, isPaused) {
    if (tile._klimaBusy) return null;
    tile._klimaBusy = true;
    return fetch(tile.getAttribute("data-klima-url"), {credentials: "same-origin", cache: "no-store",
                                                         headers: {Accept: "application/json"}})
      .then(function (r) {
        if (isPaused()) return null;
        if (r.status === 404) { tile.hidden = true; return null; }  // withdrawn from public view
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (data) { if (data && !isPaused()) { tile.hidden = false; update(tile, data); } })
      .catch(function () { /* keep the last values; next round tries again */ })
      .then(function () { tile._klimaBusy = false; });
  }

  function init(root) {
    var tiles = Array.from(root.querySelectorAll("[data-klima-tile]"));
    tiles.forEach(function (tile) {
      var points = JSON.parse(tile.getAttribute("data-klima-points") || "[]");
      tile._klimaPoints = JSON.stringify(points);
      tile._klimaRows = JSON.stringify(Array.from(tile.querySelectorAll("[data-klima-rows] tr")).map(function (tr) {
        return Array.from(tr.cells).map(function (td) { return td.textContent; });
      }));
      chart(tile, points);
    });
    var every = Math.max(2, parseInt(root.getAttribute("data-klima-refresh"), 10) || 60) * 1000;
    var timer = null;
    var paused = false;  // by the person (WCAG 2.2.2), not only while the page is hidden
    function round() { tiles.forEach(function (tile) { poll(tile, function () { return paused; }); }); }
    function start() {
      if (!timer && !paused) timer = setInterval(function () { if (!document.hidden) round(); }, every);
    }
    function stop() { if (timer) { clearInterval(timer); timer = null; } }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { stop(); } else if (!paused) { round(); start(); }
    });
    var button = root.querySelector("[data-klima-pause]");
    var state = root.querySelector("[data-klima-pause-state]");
    if (button) {
      button.addEventListener("click", function () {
        paused = !paused;
        root.setAttribute("data-klima-paused", paused ? "true" : "false");
        button.textContent = button.getAttribute(paused ? "data-klima-resume-text" : "data-klima-pause-text");
        if (state) state.textContent = button.getAttribute(paused ? "data-klima-paused-text" : "data-klima-running-text");
        if (paused) { stop(); } else { round(); start(); }
      });
    }
    start();
    var width = window.innerWidth;
    window.addEventListener("resize", function () {
      if (window.innerWidth === width) return;
      width = window.innerWidth;
      tiles.forEach(function (tile) { chart(tile, JSON.parse(tile._klimaPoints || "[]")); });
    });
  }

  function ready() { document.querySelectorAll("[data-klima-refresh]").forEach(init); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
