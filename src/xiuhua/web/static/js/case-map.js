/* The case page's map: the case's grid outline and its point. */
(function () {
  "use strict";
  var data = XiuhuaMap.readJson("case-map-data");
  var el = document.getElementById("case-map");
  if (!data || !el) { return; }
  var map = XiuhuaMap.baseMap(el, data.tiles, { scrollWheelZoom: false });
  var bounds = null;
  if (data.grid) {
    var grid = L.geoJSON(data.grid, {
      style: { color: "#1d5c8f", weight: 2, fillColor: "#1d5c8f", fillOpacity: 0.12, className: "grid-outline" }
    }).addTo(map);
    bounds = grid.getBounds();
  }
  if (data.point) {
    L.marker(data.point, { title: "案件位置", alt: "案件位置" }).addTo(map);
    bounds = bounds ? bounds.extend(data.point) : L.latLngBounds([data.point, data.point]);
  }
  if (bounds) { map.fitBounds(bounds.pad(0.4), { maxZoom: 18 }); }
})();
