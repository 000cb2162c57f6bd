/* udp_map_view: a GeoJSON file or WMS/WFS layer on a Leaflet map, the city's
   districts as a schematic layer, and a text alternative (summary + table).
   No request leaves the portal unless the operator configured a tile server
   or allowed external services. */
(function () {
  "use strict";

  var MAX_ROWS = 50;

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function kindOf(type) {
    if (/Point/.test(type)) return "point";
    if (/LineString/.test(type)) return "line";
    if (/Polygon/.test(type)) return "polygon";
    return "other";
  }

  function describe(features, bounds, strings) {
    if (!features.length) return strings.empty;
    var counts = {};
    features.forEach(function (f) {
      var k = kindOf((f.geometry && f.geometry.type) || "");
      counts[k] = (counts[k] || 0) + 1;
    });
    var kinds = Object.keys(counts).map(function (k) { return counts[k] + " " + strings[k]; }).join(", ");
    var text = fmt(strings.summary, {n: features.length, kinds: kinds});
    if (bounds && bounds.isValid()) {
      var r = function (x) { return x.toLocaleString("de-DE", {maximumFractionDigits: 4}); };
      text += " " + fmt(strings.bounds, {
        s: r(bounds.getSouth()), n: r(bounds.getNorth()), w: r(bounds.getWest()), e: r(bounds.getEast())
      });
    }
    return text;
  }

  function table(features, strings) {
    var keys = [];
    features.slice(0, MAX_ROWS).forEach(function (f) {
      Object.keys(f.properties || {}).forEach(function (k) {
        if (keys.indexOf(k) < 0 && keys.length < 6) keys.push(k);
      });
    });
    var t = document.createElement("table");
    t.className = "table table-sm udp-map__features";
    var caption = t.createCaption();
    caption.textContent = fmt(strings.tableCaption, {n: Math.min(MAX_ROWS, features.length)});
    var head = t.createTHead().insertRow();
    [strings.number, strings.geometry].concat(keys).forEach(function (k) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = k;
      head.appendChild(th);
    });
    var body = t.createTBody();
    features.slice(0, MAX_ROWS).forEach(function (f, i) {
      var row = body.insertRow();
      var kind = kindOf((f.geometry && f.geometry.type) || "");
      [String(i + 1), strings[kind]].concat(keys.map(function (k) {
        var v = (f.properties || {})[k];
        return v === null || v === undefined ? "" : (typeof v === "object" ? JSON.stringify(v) : String(v));
      })).forEach(function (text) { row.insertCell().textContent = text; });
    });
    return t;
  }

  function wfsUrl(url) {
    var u = new URL(url, window.location.href);
    var params = {SERVICE: "WFS", REQUEST: "GetFeature", OUTPUTFORMAT: "application/json"};
    // a WFS answers GetFeature only with a VERSION (2.0.0 names its layers TYPENAMES)
    var given = {};
    u.searchParams.forEach(function (v, k) { given[k.toUpperCase()] = v; });
    if (!given.VERSION) {
      params.VERSION = "2.0.0";
      if (given.TYPENAME && !given.TYPENAMES) params.TYPENAMES = given.TYPENAME;
    }
    Object.keys(params).forEach(function (k) {
      var found = Array.from(u.searchParams.keys()).filter(function (p) { return p.toUpperCase() === k; });
      found.forEach(function (p) { u.searchParams.delete(p); });
      u.searchParams.set(k, params[k]);
    });
    return u.toString();
  }

  function wmsLayer(url) {
    var u = new URL(url, window.location.href);
    var layers = "";
    u.searchParams.forEach(function (v, k) { if (k.toUpperCase() === "LAYERS") layers = v; });
    var base = u.origin + u.pathname;
    return L.tileLayer.wms(base, {layers: layers, format: "image/png", transparent: true});
  }

  function init(el) {
    var config = JSON.parse(el.getAttribute("data-udp-map"));
    var strings = JSON.parse(el.getAttribute("data-udp-strings"));
    var section = el.closest(".udp-map");
    var summary = section.querySelector("[data-udp-map-summary]");
    var tableBox = section.querySelector("[data-udp-map-table]");

    var map = L.map(el, {zoomControl: false, attributionControl: true, keyboard: true});
    map.attributionControl.setPrefix("Leaflet");
    L.control.zoom({zoomInTitle: strings.zoomIn, zoomOutTitle: strings.zoomOut}).addTo(map);
    if (config.tile_url) {
      L.tileLayer(config.tile_url, {attribution: config.tile_attribution || "", maxZoom: 19}).addTo(map);
    }
    var districts = L.layerGroup(
      (config.districts || []).map(function (d) {
        return L.circleMarker([d.lat, d.lon], {
          radius: 4, color: "#5a5a5a", weight: 1, fillColor: "#ffffff", fillOpacity: 1, interactive: false
        }).bindTooltip(d.name, {permanent: false});
      })
    ).addTo(map);
    var cityBounds = (config.districts || []).length
      ? L.latLngBounds(config.districts.map(function (d) { return [d.lat, d.lon]; })).pad(0.15)
      : L.latLngBounds([[48.94, 8.28], [49.09, 8.54]]);
    map.fitBounds(cityBounds);
    // Leaflet's map container is focusable (arrow keys pan, +/- zoom): name it
    el.setAttribute("aria-label", strings.mapLabel);

    function show(features) {
      var layer = L.geoJSON({type: "FeatureCollection", features: features}, {
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, {radius: 6, color: "#005a9c", weight: 2, fillColor: "#2b8cd6", fillOpacity: 0.8});
        },
        style: function () { return {color: "#005a9c", weight: 3, fillOpacity: 0.3}; }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds.pad(0.1), {maxZoom: 16});
      summary.textContent = describe(features, bounds, strings);
      el.setAttribute("data-udp-map-features", String(features.length));
      if (features.length) tableBox.appendChild(table(features, strings));
    }

    function fail() {
      summary.textContent = strings.failed;
      el.setAttribute("data-udp-map-features", "error");
    }

    function features(data) {
      return data.type === "FeatureCollection" ? (data.features || [])
        : data.type === "Feature" ? [data] : data.type ? [{type: "Feature", geometry: data, properties: {}}] : [];
    }
    if (config.geojson) { show(features(config.geojson)); return; }
    if (!config.url) { fail(); return; }
    if (config.kind === "WMS") {
      wmsLayer(config.url).addTo(map);
      summary.textContent = fmt(strings.service, {url: config.url});
      el.setAttribute("data-udp-map-features", "wms");
      return;
    }
    var url = config.kind === "WFS" ? wfsUrl(config.url) : config.url;
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/geo+json, application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { show(features(data)); })
      .catch(fail);
  }

  function start() {
    document.querySelectorAll("[data-udp-map]").forEach(init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
