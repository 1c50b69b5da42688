/* 考评 maps: the evaluation points layer (/evaluation/points) and a round's deductions
   (/evaluation/rounds/{id}): points coloured by score, a popup with what was deducted. */
(function () {
  "use strict";

  var config = XiuhuaMap.readJson("evaluation-config");
  var COLOURS = { good: "#2e8b57", fair: "#d18b00", poor: "#c0392b", none: "#607d8b" };

  function colour(score) {
    if (score === null || score === undefined) { return COLOURS.none; }
    return score >= 90 ? COLOURS.good : score >= 75 ? COLOURS.fair : COLOURS.poor;
  }

  function fit(map, layer) {
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.1)); } else { map.setView([36.65, 117.0], 12); }
  }

  function pointsMap(el) {
    var map = XiuhuaMap.baseMap(el, config.tiles);
    fetch(config.pointsUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, { radius: 5, color: "#1565c0", weight: 1, fillOpacity: 0.7 });
        },
        onEachFeature: function (feature, item) {
          var p = feature.properties;
          item.bindTooltip(XiuhuaMap.escapeHtml(p.name + "（" + p.kind + "）" + (p.unit_name ? " · " + p.unit_name : "")));
        }
      }).addTo(map);
      fit(map, layer);
    });
  }

  function roundMap(el) {
    var map = XiuhuaMap.baseMap(el, config.tiles);
    fetch(config.resultsUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.featureGroup();
      data.points.forEach(function (p) {
        var marker = L.circleMarker([p.lat, p.lon], { radius: p.deductions.length ? 8 : 5, color: colour(p.score),
                                                      weight: 2, fillOpacity: 0.7 });
        var lines = p.deductions.map(function (d) {
          return XiuhuaMap.escapeHtml(d.item + " × " + d.count + "（−" + d.points + "）");
        });
        marker.bindPopup("<strong>" + XiuhuaMap.escapeHtml(p.name) + "</strong> " +
                         XiuhuaMap.escapeHtml(p.score === null ? "" : p.score.toFixed(2)) + "<br>" + lines.join("<br>"));
        layer.addLayer(marker);
      });
      layer.addTo(map);
      fit(map, layer);
    });
  }

  var points = document.getElementById("points-map");
  if (points) { pointsMap(points); }
  var round = document.getElementById("round-map");
  if (round) { roundMap(round); }
})();
