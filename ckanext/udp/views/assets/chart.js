/* udp_chart_view: the hourly values of a sensor series as a uPlot chart with a
   range selector, the latest value of every sensor, and a text alternative
   (summary + table). Data come from the series' stable download URLs. */
(function () {
  "use strict";

  var COLORS = ["#005a9c", "#b8470b", "#2f7d32", "#6a3d9a", "#8c564b", "#1a1a1a"];
  var MAX_ROWS = 200;

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function num(x) {
    return x === null || x === undefined || isNaN(x) ? "–" : Number(x).toLocaleString("de-DE", {maximumFractionDigits: 2});
  }

  function when(iso) {
    var d = new Date(/Z|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z");
    return d.toLocaleString("de-DE", {timeZone: "UTC", dateStyle: "short", timeStyle: "short"});
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }

  function cell(row, text, header) {
    var c = header ? document.createElement("th") : row.insertCell();
    if (header) { c.scope = header; row.appendChild(c); }
    c.textContent = text;
    return c;
  }

  function init(section) {
    var config = JSON.parse(section.getAttribute("data-udp-chart"));
    var strings = JSON.parse(section.getAttribute("data-udp-strings"));
    var select = section.querySelector("[data-udp-chart-measure]");
    var canvas = section.querySelector("[data-udp-chart-canvas]");
    var summary = section.querySelector("[data-udp-chart-summary]");
    var tableBox = section.querySelector("[data-udp-chart-table]");
    var latestBox = section.querySelector("[data-udp-chart-latest]");
    var buttons = Array.from(section.querySelectorAll("[data-udp-chart-range] button"));
    var measures = [];  // {id, label}
    var records = [];
    var plot = null;
    var days = 7;

    function label(m) { return m.label + (m.unit ? " (" + m.unit + ")" : ""); }

    function measuresFrom(fields) {
      var byId = {};
      fields.forEach(function (f) { byId[f.id] = f; });
      return fields.filter(function (f) { return /_mean$/.test(f.id); }).map(function (f) {
        var base = f.id.replace(/_mean$/, "");
        var info = f.info || {};
        var unit = (info.notes || "").replace(/^Einheit:\s*/, "");
        return {id: base, label: info.label || base, unit: unit};
      });
    }

    function draw() {
      var m = measures[select.selectedIndex];
      if (!m) return;
      var key = m.id + "_mean";
      var devices = [];
      var hours = [];
      var values = {};
      records.forEach(function (r) {
        if (devices.indexOf(r.device) < 0) devices.push(r.device);
        var t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(r.hour) ? r.hour : r.hour + "Z") / 1000;
        if (!(t in values)) { values[t] = {}; hours.push(t); }
        values[t][r.device] = r[key] === null ? null : Number(r[key]);
      });
      hours.sort(function (a, b) { return a - b; });
      devices.sort();
      var data = [hours].concat(devices.map(function (d) {
        return hours.map(function (t) { return values[t][d] === undefined ? null : values[t][d]; });
      }));
      canvas.setAttribute("data-udp-chart-points", String(records.length));
      if (plot) { plot.destroy(); plot = null; }
      canvas.textContent = "";
      tableBox.textContent = "";
      if (!records.length) { summary.textContent = strings.empty; return; }
      var opts = {
        width: Math.max(200, canvas.clientWidth),
        height: 300,
        legend: {show: false},
        cursor: {drag: {x: true, y: false}},
        scales: {x: {time: true}},
        // German date and time on the x axis, in UTC like the data
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
        axes: [{
          values: function (u, splits) {
            return splits.map(function (ts) {
              return new Date(ts * 1000).toLocaleString("de-DE", {
                timeZone: "UTC", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit"
              });
            });
          },
          space: 90
        }, {label: label(m), size: 60}],
        series: [{label: strings.hour}].concat(devices.map(function (d, i) {
          return {label: d, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false,
                  points: {show: hours.length < 60}};
        }))
      };
      plot = new uPlot(opts, data, canvas);
      // own legend: colour and name of every sensor
      var legend = document.createElement("ul");
      legend.className = "list-inline udp-chart__legend";
      devices.forEach(function (d, i) {
        var li = document.createElement("li");
        li.className = "list-inline-item";
        var sw = document.createElement("span");
        sw.setAttribute("aria-hidden", "true");
        sw.style.cssText = "display:inline-block;width:1.5em;height:3px;vertical-align:middle;margin-right:.3em;background:" + COLORS[i % COLORS.length];
        li.appendChild(sw);
        li.appendChild(document.createTextNode(d));
        legend.appendChild(li);
      });
      canvas.appendChild(legend);
      var all = [];
      data.slice(1).forEach(function (s) { s.forEach(function (v) { if (v !== null) all.push(v); }); });
      var newest = records.reduce(function (a, r) { return r.hour > a.hour ? r : a; }, records[0]);
      summary.textContent = fmt(strings.summary, {
        label: label(m), n: records.length, devices: devices.length,
        from: when(new Date(hours[0] * 1000).toISOString()), to: when(new Date(hours[hours.length - 1] * 1000).toISOString()),
        min: num(Math.min.apply(null, all)), max: num(Math.max.apply(null, all)), last: num(newest[key])
      });
      var t = document.createElement("table");
      t.className = "table table-sm";
      t.createCaption().textContent = strings.tableCaption;
      var head = t.createTHead().insertRow();
      cell(head, strings.hour + " (UTC)", "col");
      cell(head, strings.device, "col");
      cell(head, label(m) + ", " + strings.mean, "col");
      var body = t.createTBody();
      records.slice().sort(function (a, b) { return a.hour < b.hour ? 1 : a.hour > b.hour ? -1 : 0; })
        .slice(0, MAX_ROWS).forEach(function (r) {
          var row = body.insertRow();
          cell(row, when(r.hour));
          cell(row, r.device);
          cell(row, num(r[key]));
        });
      tableBox.appendChild(t);
    }

    function load() {
      var from = new Date(Date.now() - days * 86400000).toISOString().slice(0, 19);
      var sep = config.hourly_url.indexOf("?") < 0 ? "?" : "&";
      return getJSON(config.hourly_url + sep + "from=" + encodeURIComponent(from)).then(function (body) {
        records = body.records || [];
        draw();
      });
    }

    function latest(lfields) {
      return getJSON(config.latest_url).then(function (body) {
        var rows = body.records || [];
        var t = document.createElement("table");
        t.className = "table table-sm";
        t.createCaption().textContent = strings.latestCaption;
        var head = t.createTHead().insertRow();
        cell(head, strings.device, "col");
        cell(head, strings.time, "col");
        measures.forEach(function (m) { cell(head, label(m), "col"); });
        var tbody = t.createTBody();
        rows.forEach(function (r) {
          var row = tbody.insertRow();
          cell(row, r.device, "row");
          cell(row, r.time ? when(r.time) : "–");
          measures.forEach(function (m) { cell(row, num(r[m.id])); });
        });
        latestBox.textContent = "";
        latestBox.appendChild(t);
        latestBox.setAttribute("data-udp-chart-latest-rows", String(rows.length));
      });
    }

    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        days = Number(b.getAttribute("data-days"));
        buttons.forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
        load().catch(function () { summary.textContent = strings.failed; });
      });
    });
    select.addEventListener("change", draw);
    window.addEventListener("resize", function () {
      if (plot) plot.setSize({width: Math.max(200, canvas.clientWidth), height: 300});
    });

    getJSON(config.fields_url).then(function (body) {
      measures = measuresFrom(((body.result || {}).fields) || []);
      measures.forEach(function (m) {
        var o = document.createElement("option");
        o.value = m.id;
        o.textContent = label(m);
        select.appendChild(o);
      });
      return Promise.all([load(), latest()]);
    }).catch(function () {
      summary.textContent = strings.failed;
      canvas.setAttribute("data-udp-chart-points", "error");
    });
  }

  function start() {
    document.querySelectorAll("[data-udp-chart]").forEach(init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
