/* The evaluator's phone page (现场考评): point by point, the items of the standard that apply
   to the point's kind; deductions with count, note and photos. The browser's position is
   recorded when a photo is chosen (iOS strips EXIF location from web uploads) and a photo more
   than 200 m from the point is flagged. Entries wait in the offline queue (offline-queue.js)
   and are sent with idempotency keys when the network returns; the page shows what waits. */
(function () {
  "use strict";

  var FAR_METRES = 200;
  var config = JSON.parse(document.getElementById("walk-config").textContent);
  var cacheKey = "xiuhua-walk-" + config.roundId;
  var queue = XiuhuaQueue.open("evaluation");
  var state = { work: null, index: 0, photos: [], waiting: [] };

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function distance(lon1, lat1, lon2, lat2) {
    var r = 6371008.8, p1 = lat1 * Math.PI / 180, p2 = lat2 * Math.PI / 180;
    var dp = p2 - p1, dl = (lon2 - lon1) * Math.PI / 180;
    var a = Math.sin(dp / 2) * Math.sin(dp / 2) + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * r * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lon: p.coords.longitude, lat: p.coords.latitude });
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 0 });
    });
  }

  function current() { return state.work ? state.work.points[state.index] : null; }

  function itemsById() {
    var found = {};
    (state.work ? state.work.items : []).forEach(function (i) { found[i.id] = i; });
    return found;
  }

  function pointUrl(point, tail) {
    return config.roundUrl + "/points/" + point.id + tail;
  }

  function renderQueue() {
    var box = $("queue-status");
    var waiting = state.waiting.filter(function (e) { return !e.error; });
    var failed = state.waiting.filter(function (e) { return e.error; });
    box.hidden = !state.waiting.length;
    box.textContent = "";
    if (waiting.length) {
      box.appendChild(el("span", "有 " + waiting.length + " 条记录等待发送（网络恢复后自动发送）", "queue-waiting"));
    }
    failed.forEach(function (e) {
      var line = el("div", "未能保存：" + (e.label || "") + "（" + e.error + "）", "error-text");
      var drop = el("button", "放弃");
      drop.type = "button";
      drop.addEventListener("click", function () { queue.drop(e.id); });
      line.appendChild(drop);
      box.appendChild(line);
    });
    $("net-status").textContent = navigator.onLine === false ? "当前离线：记录保存在本机" : "";
  }

  function renderPoint() {
    var point = current();
    if (!point) { $("point-name").textContent = "本次检查没有点位"; return; }
    $("point-select").value = String(state.index);
    $("point-name").textContent = point.name + "（" + point.kind + "）";
    $("point-meta").textContent = "编号 " + point.code + (point.done ? " · 已检" : " · 未检");
    var items = itemsById();
    var select = $("d-item");
    select.textContent = "";
    point.items.forEach(function (id) {
      var item = items[id];
      var option = el("option", item.levels.join(" / ") + "（" + item.rule_text + "）");
      option.value = String(id);
      select.appendChild(option);
    });
    var list = $("point-deductions");
    list.textContent = "";
    point.deductions.forEach(function (d) {
      list.appendChild(el("li", d.item + " × " + d.count + (d.far ? "（照片距点位超过 200 米）" : "")));
    });
    state.waiting.forEach(function (e) {
      if (e.pointId === point.id && !e.error) { list.appendChild(el("li", (e.label || "") + "（待发送）", "pending")); }
    });
  }

  function renderPoints() {
    var select = $("point-select");
    select.textContent = "";
    state.work.points.forEach(function (p, i) {
      var option = el("option", (i + 1) + ". " + p.name + (p.done ? " ✓" : ""));
      option.value = String(i);
      select.appendChild(option);
    });
    renderPoint();
  }

  async function load() {
    try {
      var response = await fetch(config.workUrl, { credentials: "same-origin" });
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      state.work = await response.json();
      try { localStorage.setItem(cacheKey, JSON.stringify(state.work)); } catch (e) { /* full */ }
    } catch (err) {
      var cached = localStorage.getItem(cacheKey);
      if (!cached) { $("point-name").textContent = "无法加载点位，请联网后重试"; return; }
      state.work = JSON.parse(cached);
    }
    state.index = Math.min(state.index, Math.max(0, state.work.points.length - 1));
    renderPoints();
  }

  async function choosePhotos() {
    var files = Array.prototype.slice.call($("d-photos").files || []);
    var note = $("photo-note");
    if (!files.length) { state.photos = []; note.textContent = ""; return; }
    note.textContent = "正在记录拍摄位置…";
    var at = await position();
    var point = current();
    state.photos = files.map(function (f) {
      return { blob: f, name: f.name, extra: at ? { lon: at.lon, lat: at.lat } : {} };
    });
    if (!at) { note.textContent = "未能获取位置：照片将不带拍摄位置"; return; }
    var metres = distance(at.lon, at.lat, point.lon, point.lat);
    note.textContent = metres > FAR_METRES
      ? "注意：拍摄位置距点位约 " + Math.round(metres) + " 米（超过 200 米，将被标记）"
      : "已记录拍摄位置（距点位约 " + Math.round(metres) + " 米）";
  }

  async function addDeduction(event) {
    event.preventDefault();
    var point = current();
    var itemId = Number($("d-item").value);
    var count = Number($("d-count").value) || 1;
    var item = itemsById()[itemId];
    await queue.add({
      url: pointUrl(point, "/deductions"), pointId: point.id,
      label: point.name + "：" + item.levels[item.levels.length - 1] + " × " + count,
      body: { item_id: itemId, count: count, note: $("d-note").value || null, photos: [] },
      uploads: { url: config.photosUrl, field: "photos", items: state.photos }
    });
    point.done = true;
    state.photos = [];
    $("deduction-form").reset();
    $("photo-note").textContent = "";
    renderPoint();
  }

  async function noProblem() {
    var point = current();
    await queue.add({ url: pointUrl(point, "/done"), pointId: point.id, label: point.name + "：无问题", body: {} });
    point.done = true;
    if (state.index < state.work.points.length - 1) { state.index += 1; }
    renderPoints();
  }

  function move(step) {
    if (!state.work) { return; }
    state.index = Math.max(0, Math.min(state.work.points.length - 1, state.index + step));
    renderPoint();
  }

  $("prev-point").addEventListener("click", function () { move(-1); });
  $("next-point").addEventListener("click", function () { move(1); });
  $("point-select").addEventListener("change", function () { state.index = Number(this.value); renderPoint(); });
  $("d-photos").addEventListener("change", choosePhotos);
  $("deduction-form").addEventListener("submit", addDeduction);
  $("no-problem").addEventListener("click", noProblem);
  window.addEventListener("offline", renderQueue);
  window.addEventListener("online", renderQueue);

  queue.onChange(function (entries) {
    state.waiting = entries;
    renderQueue();
    if (state.work) { renderPoint(); }
  }, function () {
    /* a record reached the server: refresh what it holds once nothing else waits */
    queue.pending().then(function (left) { if (!left.some(function (e) { return !e.error; })) { load(); } });
  });
  load();
})();
