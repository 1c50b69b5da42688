/* Shared map set-up: a Leaflet map with the optional base-map tiles, no external links; and the
   one way data reaches a popup or tooltip. Leaflet's bindTooltip/bindPopup (and ECharts' HTML
   tooltips) put a string in with innerHTML, so names from the server (regions, grids, units,
   categories) go through escapeHtml, or are built as DOM nodes with text (text()). */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function baseMap(el, tiles, options) {
    var map = L.map(el, Object.assign({ attributionControl: !!tiles, zoomSnap: 0.5, maxZoom: 19 }, options || {}));
    if (tiles) {
      L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 19 }).addTo(map);
      map.attributionControl.setPrefix(false);
    }
    return map;
  }

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) { el.className = className; }
    return el;
  }

  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };

  /* Data as HTML text: for every string given to bindTooltip, bindPopup or innerHTML. */
  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return ENTITIES[c];
    });
  }

  window.XiuhuaMap = { readJson: readJson, baseMap: baseMap, text: text, escapeHtml: escapeHtml };
})();
