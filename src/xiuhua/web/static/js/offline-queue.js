/* A small offline queue for field pages (考评, patrols): writes wait in the browser (IndexedDB,
   photos as Blobs) and are sent in order, each with its own Idempotency-Key, when the network
   is there; a retry after a lost answer is recorded once by the server.

   var queue = XiuhuaQueue.open("evaluation");
   queue.add({ url: "/api/v1/...", body: {...}, label: "路面有垃圾 ×2",
               uploads: { url: "/api/v1/photos", field: "photos",
                          items: [{ blob: file, name: "a.jpg", extra: { lon: 117.0, lat: 36.6 } }] } });
   queue.onChange(function (entries) { ... });   // what is waiting (and what was refused)
   queue.flush();                                 // also on the "online" event and every 30 s

   Each upload item is posted as multipart "file" to uploads.url; the answer's photo_id with the
   item's extra fields is appended to body[uploads.field] before the write is sent. An entry the
   server refuses (4xx other than 408/429) stays with its error for the user to see and drop.
   The CSRF token is read from <body hx-headers> (base.html). */
(function () {
  "use strict";

  var DB_NAME = "xiuhua-offline";
  var STORE = "entries";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(db, mode, work) {
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(STORE, mode);
      var result = work(tx.objectStore(STORE));
      tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
      tx.onerror = function () { reject(tx.error); };
    });
  }

  function csrfHeader() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  function Failure(message, permanent) {
    this.message = message;
    this.permanent = permanent;
  }

  async function answer(response) {
    if (response.ok) { return response.json(); }
    var text = "";
    try { text = (await response.json()).detail || ""; } catch (e) { text = ""; }
    var permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
    throw new Failure(text || ("HTTP " + response.status), permanent);
  }

  async function upload(uploads, item) {
    var form = new FormData();
    form.append("file", item.blob, item.name || "photo.jpg");
    var response = await fetch(uploads.url, { method: "POST", body: form, credentials: "same-origin",
                                               headers: csrfHeader() });
    var found = await answer(response);
    return Object.assign({ photo_id: found.photo_id }, item.extra || {});
  }

  async function send(entry) {
    var body = Object.assign({}, entry.body || {});
    if (entry.uploads && entry.uploads.items && entry.uploads.items.length) {
      var sent = [];
      for (var i = 0; i < entry.uploads.items.length; i++) {
        sent.push(await upload(entry.uploads, entry.uploads.items[i]));
      }
      body[entry.uploads.field] = (body[entry.uploads.field] || []).concat(sent);
    }
    var headers = Object.assign({ "Content-Type": "application/json", "Idempotency-Key": entry.key }, csrfHeader());
    var response = await fetch(entry.url, { method: entry.method || "POST", headers: headers,
                                            body: JSON.stringify(body), credentials: "same-origin" });
    return answer(response);
  }

  function open(name) {
    var listeners = [];
    var flushing = null;
    var dbPromise = openDb();

    async function all() {
      var db = await dbPromise;
      var rows = await run(db, "readonly", function (store) { return store.getAll(); });
      return (rows || []).filter(function (e) { return e.queue === name; });
    }

    async function notify() {
      var entries = await all();
      listeners.forEach(function (fn) { fn(entries); });
      return entries;
    }

    async function put(entry) {
      var db = await dbPromise;
      return run(db, "readwrite", function (store) { return store.put(entry); });
    }

    async function remove(id) {
      var db = await dbPromise;
      await run(db, "readwrite", function (store) { return store.delete(id); });
    }

    async function flushOnce() {
      for (;;) {
        var waiting = (await all()).filter(function (e) { return !e.error; });
        if (!waiting.length) { break; }
        var entry = waiting[0];
        try {
          var result = await send(entry);
          await remove(entry.id);
          listeners.forEach(function (fn) { if (fn.sent) { fn.sent(entry, result); } });
        } catch (err) {
          if (err instanceof Failure && err.permanent) {
            entry.error = err.message;
            await put(entry);
            continue;
          }
          break; /* offline or the server is unreachable: keep the order, try again later */
        }
        await notify();
      }
      await notify();
    }

    function flush() {
      if (!flushing) {
        flushing = flushOnce().finally(function () { flushing = null; });
      }
      return flushing;
    }

    async function add(entry) {
      var stored = Object.assign({ queue: name, key: newKey(), method: "POST", at: new Date().toISOString() }, entry);
      await put(stored);
      await notify();
      flush();
      return stored;
    }

    async function drop(id) {
      await remove(id);
      return notify();
    }

    window.addEventListener("online", function () { flush(); });
    setInterval(function () { if (navigator.onLine !== false) { flush(); } }, 30000);

    return {
      add: add, flush: flush, pending: all, drop: drop,
      onChange: function (fn, onSent) { if (onSent) { fn.sent = onSent; } listeners.push(fn); notify(); }
    };
  }

  window.XiuhuaQueue = { open: open };
})();
