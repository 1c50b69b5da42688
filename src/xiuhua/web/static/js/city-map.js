/* 一张图: grids, community and street boundaries, clustered case points, per-grid heat shading
   for the filter, and a grid's panel on click. */
(function () {
  "use strict";
  var config = XiuhuaMap.readJson("map-config");
  var form = document.getElementById("map-filter");
  var statusLine = document.getElementById("map-status");
  var map = XiuhuaMap.baseMap(document.getElementById("city-map"), config.tiles);
  var HEAT = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var counts = {};
  var breaks = [];
  var selected = null;
  var grids = null;

  var clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });

  /* Class breaks at the quintiles of the grids that have cases, so a few hotspots do not
     leave every other grid in the lightest class. */
  function quintiles(values) {
    var sorted = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    return HEAT.slice(1).map(function (_, i) {
      return sorted.length ? sorted[Math.floor(((i + 1) * sorted.length) / HEAT.length)] || sorted[sorted.length - 1] : 0;
    });
  }

  function heatColour(n) {
    if (!n) { return null; }
    var k = 0;
    while (k < breaks.length && n >= breaks[k]) { k += 1; }
    return HEAT[k];
  }

  function gridStyle(feature) {
    var colour = heatColour(counts[feature.properties.code]);
    var chosen = feature.properties.code === selected;
    return {
      color: chosen ? "#0b3d66" : "#5b7083", weight: chosen ? 3 : 1,
      fillColor: colour || "#ffffff", fillOpacity: colour ? 0.6 : 0.05, className: "grid-shape"
    };
  }

  function filterQuery() {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function openGrid(code) {
    selected = code;
    grids.setStyle(gridStyle);
    htmx.ajax("GET", config.gridUrl + encodeURIComponent(code) + "?" + filterQuery(),
              { target: "#grid-panel", swap: "innerHTML" });
  }

  function onGrid(feature, layer) {
    var label = feature.properties.name + "（" + feature.properties.code + "）";
    layer.bindTooltip(XiuhuaMap.escapeHtml(label), { sticky: true });
    layer.on("click", function () { openGrid(feature.properties.code); });
  }

  function popup(p) {
    var box = document.createElement("div");
    var link = XiuhuaMap.text("a", p[2]);
    link.href = "/cases/" + encodeURIComponent(p[2]);
    box.appendChild(link);
    box.appendChild(XiuhuaMap.text("div", p[4]));
    box.appendChild(XiuhuaMap.text("div", p[3] + (p[5] ? " · 已超时" : ""), p[5] ? "overdue" : "muted"));
    return box;
  }

  function showCases(data) {
    counts = data.grids;
    breaks = quintiles(Object.keys(counts).map(function (k) { return counts[k]; }));
    if (grids) { grids.setStyle(gridStyle); }
    clusters.clearLayers();
    clusters.addLayers(data.points.map(function (p) {
      return L.circleMarker([p[0], p[1]], {
        radius: 6, weight: 1, color: "#ffffff", fillOpacity: 0.9,
        fillColor: p[5] ? "#c62828" : "#1d5c8f", className: "case-point"
      }).bindPopup(function () { return popup(p); });
    }));
    statusLine.textContent = "共 " + data.total + " 件案件" + (data.truncated ? "（点位只显示最近的一部分）" : "");
  }

  function loadCases() {
    statusLine.textContent = "正在加载…";
    return fetch(config.casesUrl + "?" + filterQuery(), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error("筛选条件有误或加载失败（" + r.status + "）"); }
        return r.json();
      })
      .then(showCases)
      .catch(function (err) {
        statusLine.textContent = err && err.message ? err.message : String(err);
        console.error(err);
      });
  }

  function addLegend() {
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "legend");
      box.appendChild(XiuhuaMap.text("strong", "案件数（按网格）"));
      HEAT.forEach(function (colour, i) {
        var row = XiuhuaMap.text("div", i === 0 ? "少" : (i === HEAT.length - 1 ? "多" : ""));
        var swatch = XiuhuaMap.text("span", "", "swatch");
        swatch.style.background = colour;
        row.prepend(swatch);
        box.appendChild(row);
      });
      return box;
    };
    legend.addTo(map);
  }

  function drawLayers(layers) {
    grids = L.geoJSON(layers.grids, { style: gridStyle, onEachFeature: onGrid }).addTo(map);
    var communities = L.geoJSON(layers.communities, {
      interactive: false, style: { color: "#2e7d32", weight: 2, dashArray: "6 4", fill: false, className: "community-shape" }
    }).addTo(map);
    var streets = L.geoJSON(layers.streets, {
      interactive: false, style: { color: "#37474f", weight: 3, fill: false, className: "street-shape" }
    }).addTo(map);
    clusters.addTo(map);
    L.control.layers(null, { "单元网格": grids, "社区边界": communities, "街道边界": streets, "案件点位": clusters },
                     { collapsed: window.innerWidth < 700 }).addTo(map);
    addLegend();
    if (grids.getLayers().length) { map.fitBounds(grids.getBounds()); } else { map.setView([36.65, 117.0], 12); }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    history.replaceState(null, "", "/map?" + filterQuery());
    loadCases().then(function () { if (selected) { openGrid(selected); } });
  });

  fetch(config.layersUrl, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("地图图层加载失败（" + r.status + "）"); } return r.json(); })
    .then(drawLayers)
    .then(loadCases)
    .catch(function (err) {
      statusLine.textContent = "地图加载失败：" + (err && err.message ? err.message : err);
      console.error(err);
    });
})();
