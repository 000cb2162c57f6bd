/* The dataset and resource forms of ckanext-udp (plugin udp_dcatde).
 *
 * (top level)        German transliteration for the web address (slug)
 * udp-checklist      a filter field above a long checkbox list
 * udp-error-summary  focuses the error summary so screen readers read it first
 * udp-area-map       the map of the spatial coverage: city districts as points
 *                    (a click ticks the district in the list) and rectangles
 *                    drawn with Leaflet.draw, stored as hidden inputs
 *
 * Everything works without JavaScript too (checkboxes, date inputs); the map
 * is an addition, never the only way.
 */
"use strict";

/* The web address CKAN's form derives from the title, German style:
   "Bäume" -> "baeume" (as the server does when the field is empty). */
if (window.jQuery && jQuery.url && jQuery.url.map) {
  jQuery.extend(jQuery.url.map, {e4: "ae", f6: "oe", fc: "ue", c4: "Ae", d6: "Oe", dc: "Ue", df: "ss"});
}

this.ckan.module("udp-checklist", function ($) {
  function fold(text) {
    return (text || "").toLowerCase()
      .replace(/ä/g, "a").replace(/ö/g, "o").replace(/ü/g, "u").replace(/ß/g, "ss")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }
  return {
    initialize: function () {
      var el = this.el;
      var box = el.find(".udp-checklist-filter");
      var input = box.find("input");
      box.prop("hidden", false);
      input.on("input", function () {
        var q = fold(input.val().trim());
        el.find(".form-check").each(function () {
          var item = $(this);
          var checked = item.find("input").prop("checked");
          item.prop("hidden", q !== "" && !checked && fold(item.text()).indexOf(q) === -1);
        });
      });
      // Enter in the filter must not submit the whole form
      input.on("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
    }
  };
});

this.ckan.module("udp-error-summary", function ($) {
  return {
    initialize: function () {
      var el = this.el;
      window.setTimeout(function () { el.trigger("focus"); }, 0);
      // a link into a collapsed section opens it first
      el.on("click", "a[href^='#']", function () {
        var target = document.getElementById(this.getAttribute("href").slice(1));
        var section = target && target.closest("details");
        if (section) { section.open = true; }
      });
    }
  };
});

this.ckan.module("udp-area-map", function ($) {
  return {
    options: {map: null, next: 0, field: "spatial_coverage", drawnLabel: "", removeLabel: ""},

    initialize: function () {
      if (typeof L === "undefined") { return; }
      var opts = this.options;
      var data = typeof opts.map === "string" ? JSON.parse(opts.map) : opts.map;
      var el = this.el;
      var fieldset = el.closest("fieldset");
      var form = el.closest("form");
      var next = parseInt(opts.next, 10) || 0;
      el.addClass("udp-area-map-active");
      fieldset.find(".udp-area-map-hint").prop("hidden", false);

      var map = L.map(el[0], {zoomControl: false, attributionControl: !!data.tiles,
                              scrollWheelZoom: false, zoomSnap: 0.25});
      L.control.zoom({zoomInTitle: "Vergrößern", zoomOutTitle: "Verkleinern"}).addTo(map);
      if (data.tiles) {
        L.tileLayer(data.tiles, {attribution: data.attribution, maxZoom: 18}).addTo(map);
      }
      var outline = L.geoJSON(data.outline, {interactive: false,
        style: {color: "#00558c", weight: 2, fillColor: "#00558c", fillOpacity: 0.06, dashArray: "6 4"}}).addTo(map);
      map.fitBounds(outline.getBounds(), {padding: [8, 8]});

      // the districts: a click ticks or unticks the checkbox of the list
      var markers = {};
      function checkbox(number) { return $("#field-stadtteile-" + number); }
      function paint(number) {
        var on = checkbox(number).prop("checked");
        markers[number].setStyle({fillColor: on ? "#b3001b" : "#ffffff", color: on ? "#7a0012" : "#00558c",
                                  fillOpacity: 1, weight: 2, radius: on ? 9 : 7});
      }
      $.each(data.districts, function (_, d) {
        var marker = L.circleMarker([d.lat, d.lon], {radius: 7}).addTo(map);
        marker.bindTooltip(d.name, {direction: "top"});
        marker.on("click", function () {
          var box = checkbox(d.number);
          box.prop("checked", !box.prop("checked")).trigger("change");
        });
        markers[d.number] = marker;
        paint(d.number);
      });
      form.on("change", "input[name='stadtteile']", function () { paint(this.value); });

      // areas kept from earlier (drawn, harvested): shown, removable
      var list = fieldset.find(".udp-area-list");
      var layers = L.featureGroup().addTo(map);
      function addLayer(item, geometry) {
        try {
          var layer = L.geoJSON(JSON.parse(geometry), {style: {color: "#b3001b", weight: 2, fillOpacity: 0.1}});
          layer.addTo(layers);
          item.data("layer", layer);
        } catch (e) { /* not drawable: listed only */ }
      }
      list.find(".udp-area-item").each(function () {
        var item = $(this);
        var geometry = item.find("input[name$='-bbox']").val() || item.find("input[name$='-geom']").val();
        if (geometry) { addLayer(item, geometry); }
      });
      list.on("click", ".udp-area-remove", function () {
        var item = $(this).closest(".udp-area-item");
        if (item.data("layer")) { layers.removeLayer(item.data("layer")); }
        item.remove();
      });
      list.find(".udp-area-remove").prop("hidden", false);

      // drawing a rectangle adds an area
      if (L.Control.Draw) {
        L.drawLocal.draw.toolbar.buttons.rectangle = "Rechteck zeichnen";
        L.drawLocal.draw.toolbar.actions.title = "Zeichnen abbrechen";
        L.drawLocal.draw.toolbar.actions.text = "Abbrechen";
        L.drawLocal.draw.toolbar.finish.title = "Zeichnen beenden";
        L.drawLocal.draw.toolbar.finish.text = "Fertig";
        L.drawLocal.draw.toolbar.undo.title = "Letzten Punkt löschen";
        L.drawLocal.draw.toolbar.undo.text = "Rückgängig";
        L.drawLocal.draw.handlers.rectangle.tooltip.start = "Klicken und ziehen Sie, um ein Rechteck zu zeichnen.";
        L.drawLocal.draw.handlers.simpleshape.tooltip.end = "Maustaste loslassen, um das Rechteck abzuschließen.";
        map.addControl(new L.Control.Draw({
          position: "topright",
          draw: {polyline: false, polygon: false, circle: false, marker: false, circlemarker: false,
                 rectangle: {shapeOptions: {color: "#b3001b", weight: 2}}},
          edit: false
        }));
        map.on(L.Draw.Event.CREATED, function (e) {
          var geometry = JSON.stringify(e.layer.toGeoJSON().geometry);
          var i = next++;
          var name = opts.field + "-" + i + "-";
          var item = $("<li class='udp-area-item'></li>");
          item.append($("<span></span>").text(opts.drawnLabel));
          item.append($("<input type='hidden'>").attr("name", name + "source").val("karte"));
          item.append($("<input type='hidden'>").attr("name", name + "text").val(opts.drawnLabel));
          item.append($("<input type='hidden'>").attr("name", name + "bbox").val(geometry));
          item.append($("<button type='button' class='btn btn-sm btn-secondary udp-area-remove'></button>")
            .text(opts.removeLabel));
          list.append(item);
          addLayer(item, geometry);
        });
      }
    }
  };
});
