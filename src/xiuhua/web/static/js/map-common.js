/* Shared map set-up: a Leaflet map with the optional base-map tiles, no external links. */
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

  window.XiuhuaMap = { readJson: readJson, baseMap: baseMap, text: text };
})();
