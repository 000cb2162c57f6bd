/* udp-semantic-suggest (plugin udp_semantic): the "Vorschläge" box of the
 * dataset form. On the steward's click it asks udp_semantic_suggest for the
 * themes and keywords nearest to the title and description, and lists them as
 * buttons; only a click on one ticks the theme or adds the keyword. Nothing is
 * applied without that click. German texts come from the template (data-*).
 */
"use strict";

this.ckan.module("udp-semantic-suggest", function ($) {
  return {
    initialize: function () {
      var el = this.el;
      var self = this;
      var status = el.find(".udp-suggest-status");
      var list = el.find(".udp-suggest-list");
      el.prop("hidden", false);
      el.find(".udp-suggest-ask").on("click", function () {
        var title = ($("#field-title").val() || "").trim();
        var notes = ($("#field-notes").val() || "").trim();
        list.empty();
        if (!title && !notes) { status.text(el.data("empty")); return; }
        status.text(el.data("busy"));
        self.sandbox.client.call("POST", "udp_semantic_suggest", {title: title, notes: notes},
          function (answer) { self.show(answer.result, status, list); },
          function () { status.text(el.data("failed")); });
      });
    },
    show: function (result, status, list) {
      var el = this.el;
      var offered = 0;
      $.each(result.themes || [], function (_, theme) {
        var box = $("#field-theme input[type=checkbox]").filter(function () { return this.value === theme.uri; });
        if (!box.length || box.prop("checked")) { return; }
        offered += 1;
        list.append(item(el.data("theme") + ": " + theme.label, function () { box.prop("checked", true); }));
      });
      var tags = $("#field-tag_string");
      $.each(result.keywords || [], function (_, keyword) {
        var present = (tags.val() || "").split(",").map(function (t) { return t.trim().toLowerCase(); });
        if (present.indexOf(keyword.name.toLowerCase()) !== -1) { return; }
        offered += 1;
        list.append(item(el.data("keyword") + ": " + keyword.name, function () {
          var now = (tags.val() || "").trim();
          tags.val(now ? now.replace(/,\s*$/, "") + ", " + keyword.name : keyword.name);
        }));
      });
      status.text(offered ? el.data("found") : el.data("none"));
      function item(text, accept) {
        var button = $("<button type='button' class='btn btn-outline-primary btn-sm udp-suggest-item'></button>").text(text);
        button.on("click", function () {
          accept();
          button.prop("disabled", true).text(text + " – " + el.data("accepted"));
        });
        return $("<li></li>").append(button);
      }
    }
  };
});
