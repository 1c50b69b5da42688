/* The report form's position: the phone's GPS (WGS-84; browsers give it only over HTTPS) or a
   tap on the map. A tapped point is sent in the map's own coordinate system (the tiles'), and
   the server converts it to WGS-84; the server also says which grid a point lies in and where
   to draw it. The submit button is disabled once pressed (the server ignores repeats too). */
(function () {
  "use strict";
  var config = XiuhuaMap.readJson("report-config");
  var form = document.getElementById("report-form");
  var el = document.getElementById("report-map");
  var status = document.getElementById("position-status");
  var fields = { lon: document.getElementById("lon"), lat: document.getElementById("lat"),
                 sys: document.getElementById("coord_sys") };
  var map = XiuhuaMap.baseMap(el, config.tiles);
  var marker = null;
  window.XiuhuaReportMap = map;

  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("error-text", !!bad);
  }

  function place(lat, lon) {
    if (marker) { marker.setLatLng([lat, lon]); } else {
      marker = L.marker([lat, lon], { title: "问题位置", alt: "问题位置" }).addTo(map);
    }
  }

  function setPoint(lon, lat, sys, how) {
    fields.lon.value = lon.toFixed(7);
    fields.lat.value = lat.toFixed(7);
    fields.sys.value = sys;
    var query = new URLSearchParams({ lon: fields.lon.value, lat: fields.lat.value, coord_sys: sys });
    return fetch(config.pointUrl + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("位置查询失败（" + r.status + "）"); } return r.json(); })
      .then(function (found) {
        if (!found.ok) { say(found.error, true); return; }
        place(found.lat, found.lon);
        say((how ? how + "：" : "") + found.place, false);
        if (how === "已定位") { map.setView([found.lat, found.lon], Math.max(map.getZoom(), 17)); }
      })
      .catch(function (err) { say(String(err && err.message ? err.message : err), true); });
  }

  map.on("click", function (event) {
    setPoint(event.latlng.lng, event.latlng.lat, config.coordSys, "已选位置");
  });

  document.getElementById("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation || !window.isSecureContext) {
      say("当前页面无法使用定位（需通过 HTTPS 访问），请在地图上点选位置。", true);
      return;
    }
    say("正在定位…", false);
    navigator.geolocation.getCurrentPosition(function (pos) {
      setPoint(pos.coords.longitude, pos.coords.latitude, "wgs84", "已定位");
    }, function () {
      say("无法获取定位，请在地图上点选位置。", true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  form.addEventListener("submit", function () {
    var button = document.getElementById("report-submit");
    window.setTimeout(function () { button.disabled = true; button.textContent = "正在提交…"; }, 0);
  });

  fetch(config.layersUrl, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("地图图层加载失败（" + r.status + "）"); } return r.json(); })
    .then(function (layers) {
      var grids = L.geoJSON(layers.grids, { interactive: false,
        style: { color: "#5b7083", weight: 1, fillColor: "#1d5c8f", fillOpacity: 0.04, className: "grid-shape" } }).addTo(map);
      L.geoJSON(layers.streets, { interactive: false,
        style: { color: "#37474f", weight: 2, fill: false, className: "street-shape" } }).addTo(map);
      if (grids.getLayers().length) { map.fitBounds(grids.getBounds()); } else { map.setView([36.65, 117.0], 12); }
      if (fields.lon.value && fields.lat.value) {
        setPoint(parseFloat(fields.lon.value), parseFloat(fields.lat.value), fields.sys.value || "wgs84", "已选位置");
      }
    })
    .catch(function (err) {
      map.setView([36.65, 117.0], 12);
      say("地图加载失败：" + (err && err.message ? err.message : err), true);
      console.error(err);
    });
})();
