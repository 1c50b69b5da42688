/* 领导驾驶舱: draws the dashboard figures with ECharts and polls the API so the counters,
   charts and blind-spot list stay current without reloading the page. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var BLUE = "#1f6fb2", GREEN = "#2e8b57", RED = "#c0392b", GREY = "#8a96a3";
  var charts = {};
  /* Tooltips drawn on the canvas: ECharts' HTML tooltips carry style="…" attributes, which the
     Content-Security-Policy refuses, and would put names (categories, grids, units) in as HTML. */
  var TIP = "richText";

  function chart(id) {
    if (!charts[id]) {
      charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    }
    return charts[id];
  }

  function empty(rows) {
    return rows.length ? { show: false } : {
      show: true, text: "暂无数据", left: "center", top: "middle",
      textStyle: { color: GREY, fontSize: 14, fontWeight: "normal" }
    };
  }

  /* A horizontal bar chart, the first row on top: one row per item however many there are (the
     chart grows to fit them), every label shown in full (wrapped, never cut), and the whole
     name in the tooltip. */
  var ROW_HEIGHT = 30;

  function bars(id, rows, name, value, colour, percent, tip) {
    var shown = rows.slice().reverse();
    var el = document.getElementById(id);
    var height = shown.length * ROW_HEIGHT + 40;
    if (height > el.clientHeight) {
      el.style.height = height + "px";
      chart(id).resize();
    }
    var labelWidth = Math.max(96, Math.round(el.clientWidth * 0.42));
    chart(id).setOption({
      title: empty(rows),
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" }, renderMode: TIP,
        formatter: function (items) {
          var i = shown.length - 1 - items[0].dataIndex;
          var v = items[0].value;
          return (tip ? tip(rows[i]) : name(rows[i])) + "：" + v + (percent ? "%" : " 件");
        }
      },
      xAxis: percent ? { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }
                     : { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: shown.map(name),
               axisLabel: { interval: 0, width: labelWidth, overflow: "break", lineHeight: 14 } },
      series: [{ type: "bar", barMaxWidth: 22, data: shown.map(value), itemStyle: { color: colour },
                 label: { show: true, position: "right", formatter: percent ? "{c}%" : "{c}" } }]
    }, true);
  }

  function gridName(h) {
    return h.name.indexOf(h.community) === 0 ? h.name : h.name + "（" + h.community + "）";
  }

  function drawFunnel(stages) {
    var total = stages.length ? stages[0].count : 0;
    chart("chart-funnel").setOption({
      title: empty(total ? stages : []),
      color: ["#0b3d66", "#1d5c8f", "#2f7fbf", "#4f9bd6", "#7db7e3", "#2e8b57"],
      tooltip: { trigger: "item", formatter: "{b}：{c} 件", renderMode: TIP },
      series: [{
        type: "funnel", sort: "none", left: "8%", right: "8%", top: 8, bottom: 8, minSize: "8%",
        label: { show: true, position: "inside", formatter: "{b} {c}" },
        data: stages.map(function (s) { return { name: s.label, value: s.count }; })
      }]
    }, true);
  }

  function drawTrend(trend) {
    chart("chart-trend").setOption({
      tooltip: { trigger: "axis", renderMode: TIP },
      legend: { data: ["上报", "结案"], top: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", boundaryGap: false, data: trend.days.map(function (d) { return d.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "上报", type: "line", data: trend.reported, itemStyle: { color: BLUE } },
        { name: "结案", type: "line", data: trend.closed, itemStyle: { color: GREEN } }
      ]
    }, true);
  }

  function percent(rate) {
    return Math.round(rate * 1000) / 10;
  }

  function setCounters(data) {
    document.querySelectorAll(".dash-counters .counter").forEach(function (box) {
      var key = box.dataset.key, scope = box.dataset.scope;
      var value = scope ? data[scope][key] : (key === "blind_total" ? data.blind_spots.total : data[key]);
      box.querySelector(".value").textContent = value;
      if (key === "overdue" || key === "overdue_now") { box.classList.toggle("overdue", value > 0); }
    });
    document.getElementById("dash-asof").textContent = data.as_of.slice(0, 16).replace("T", " ");
  }

  function item(tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) { node.className = className; }
    return node;
  }

  function setBlindSpots(blind) {
    var list = document.getElementById("blind-list");
    list.replaceChildren();
    blind.grids.forEach(function (g) {
      var li = document.createElement("li");
      li.dataset.grid = g.grid_code;
      li.append(item("strong", g.name), " ",
                item("small", g.community + " · " + g.grid_code + (g.inspector ? " · 监督员 " + g.inspector : ""), "muted"));
      list.append(li);
    });
    if (!blind.grids.length) { list.append(item("li", "没有盲区网格", "muted")); }
    document.getElementById("blind-total").textContent = blind.total;
  }

  function draw(data) {
    setCounters(data);
    drawFunnel(data.funnel);
    drawTrend(data.trend);
    bars("chart-categories", data.top_categories, function (c) { return c.name; },
         function (c) { return c.filed; }, BLUE, false);
    bars("chart-units", data.units, function (u) { return u.unit_name; },
         function (u) { return { value: percent(u.on_time_rate), itemStyle: { color: u.on_time_rate < 0.6 ? RED : GREEN } }; },
         GREEN, true);
    bars("chart-hotspots", data.hotspots, function (h) { return h.name; },
         function (h) { return h.reported; }, RED, false, gridName);
    setBlindSpots(data.blind_spots);
    document.body.dataset.dashboardAsOf = data.as_of;
  }

  function refresh() {
    return fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/login?next=/dashboard"); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) { if (data) { draw(data); } })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  draw(config.data);
  window.setInterval(refresh, config.refreshSeconds * 1000);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });
  window.XiuhuaDashboard = { refresh: refresh, charts: charts };
}());
