/* 重点项目: the Gantt-style schedule (ECharts: each project's planned bar, its accepted progress
   drawn over it in the project's colour, today's line) and the map of the projects (Leaflet:
   a point or an outline each, in its colour). Tooltips are drawn on the canvas (richText):
   ECharts' HTML tooltips carry style attributes the Content-Security-Policy refuses. */
(function () {
  "use strict";
  var data = XiuhuaMap.readJson("projects-data");
  if (!data) { return; }
  var ROW = 34;
  var PLANNED = "#c9d6e3";

  function day(ms) {
    var d = new Date(ms);
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }

  function bar(params, api) {
    var y = api.value(0), from = api.coord([api.value(1), y]), to = api.coord([api.value(2), y]);
    var height = api.size([0, 1])[1] * (api.value(3) ? 0.34 : 0.6);
    var shape = echarts.graphic.clipRectByRect(
      { x: from[0], y: from[1] - height / 2, width: Math.max(to[0] - from[0], 0), height: height },
      { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
    return shape && { type: "rect", transition: ["shape"], shape: shape, style: api.style() };
  }

  function drawGantt() {
    var el = document.getElementById("projects-gantt");
    if (!el) { return null; }
    var rows = data.gantt.slice().reverse();
    el.style.height = Math.max(rows.length * ROW + 70, 140) + "px";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var planned = rows.map(function (r, i) { return { value: [i, r.start, r.end, 0], itemStyle: { color: PLANNED } }; });
    var done = rows.map(function (r, i) {
      return { value: [i, r.start, r.done, 1], itemStyle: { color: data.colours[r.colour] } };
    });
    chart.setOption({
      title: rows.length ? { show: false } : { show: true, text: "暂无项目", left: "center", top: "middle",
                                                textStyle: { color: "#8a96a3", fontSize: 14, fontWeight: "normal" } },
      grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
      tooltip: {
        renderMode: "richText",
        formatter: function (item) {
          var r = rows[item.value[0]];
          return r.name + "（" + r.unit + "）\n计划 " + day(r.start) + " 至 " + day(r.end - 1) +
            "\n形象进度 " + r.progress + "%，滞后 " + r.lag + " 个百分点，" + r.label;
        }
      },
      xAxis: { type: "time", position: "top", splitLine: { show: true } },
      yAxis: { type: "category", data: rows.map(function (r) { return r.name; }),
               axisLabel: { width: 150, overflow: "truncate" } },
      series: [
        { name: "计划工期", type: "custom", renderItem: bar, encode: { x: [1, 2], y: 0 }, data: planned,
          markLine: { symbol: "none", silent: true, label: { formatter: "今天" },
                      lineStyle: { color: "#1f6fb2", type: "dashed" }, data: [{ xAxis: data.now }] } },
        { name: "已完成", type: "custom", renderItem: bar, encode: { x: [1, 2], y: 0 }, data: done }
      ]
    });
    chart.on("click", function (item) {
      var r = rows[item.value[0]];
      if (r && document.getElementById("projects-table")) { window.location.assign("/projects/" + r.id); }
    });
    window.addEventListener("resize", function () { chart.resize(); });
    document.body.dataset.ganttRows = String(rows.length);
    return chart;
  }

  function drawMap() {
    var el = document.getElementById("projects-map");
    if (!el) { return null; }
    var map = XiuhuaMap.baseMap(el, data.tiles, { scrollWheelZoom: false });
    var layers = [], bounds = null;
    data.map.forEach(function (f) {
      var tip = XiuhuaMap.escapeHtml(f.name + "（" + f.unit + "，" + f.label + "）");
      var style = { color: f.colour, weight: 2, fillColor: f.colour, fillOpacity: 0.25 };
      var found = [];
      if (f.area) { found.push([L.geoJSON(f.area, { style: style }), null]); }
      if (f.point) { found.push([L.circleMarker(f.point, Object.assign({ radius: 8, fillOpacity: 0.8 }, style)), f.point]); }
      found.forEach(function (pair) {
        var layer = pair[0];
        var b = pair[1] ? L.latLngBounds([pair[1], pair[1]]) : layer.getBounds();
        bounds = bounds ? bounds.extend(b) : b;
        layer.bindTooltip(tip);
        layer.on("click", function () { window.location.assign("/projects/" + f.id); });
        layers.push(layer);
      });
    });
    /* the view first: a polygon added to a map without one cannot be drawn */
    if (bounds) { map.fitBounds(bounds.pad(0.3), { maxZoom: 16 }); } else { map.setView([36.6, 117.0], 11); }
    layers.forEach(function (layer) { layer.addTo(map); });
    document.body.dataset.mapProjects = String(data.map.length);
    return map;
  }

  window.XiuhuaProjects = { gantt: drawGantt(), map: drawMap() };
}());
