/* Category picker: type a Chinese name, pinyin initials ("bllj") or full pinyin ("laji");
   matching categories are listed, a tap chooses one in the form's <select>. The pinyin is
   computed on the server (pypinyin) and arrives with the page. */
(function () {
  "use strict";
  var data = XiuhuaMap.readJson("category-data") || [];
  var search = document.getElementById("category-search");
  var list = document.getElementById("category-results");
  var select = document.getElementById("category_code");
  if (!search || !list || !select) { return; }
  var MAX = 12;

  function score(item, q) {
    if (item.code === q) { return 0; }
    if (item.name.indexOf(q) >= 0) { return 1; }
    if (item.py.indexOf(q) === 0) { return 2; }
    if (item.py.indexOf(q) > 0) { return 3; }
    if (item.full.indexOf(q) === 0) { return 4; }
    if (item.full.indexOf(q) > 0 || item.major.indexOf(q) >= 0 || item.code.indexOf(q) === 0) { return 5; }
    return -1;
  }

  function matches(text) {
    var q = text.trim().toLowerCase().replace(/\s+/g, "");
    if (!q) { return []; }
    return data.map(function (item) { return [score(item, q), item]; })
      .filter(function (pair) { return pair[0] >= 0; })
      .sort(function (a, b) { return a[0] - b[0] || (a[1].code < b[1].code ? -1 : 1); })
      .slice(0, MAX).map(function (pair) { return pair[1]; });
  }

  function choose(item) {
    select.value = item.code;
    search.value = item.name;
    list.hidden = true;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function show() {
    var found = matches(search.value);
    list.textContent = "";
    found.forEach(function (item) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.code = item.code;
      var button = XiuhuaMap.text("button", "", "picker-option");
      button.type = "button";
      button.appendChild(XiuhuaMap.text("strong", item.name));
      button.appendChild(XiuhuaMap.text("span", " " + item.major + " · " + item.code, "muted"));
      button.addEventListener("click", function () { choose(item); });
      li.appendChild(button);
      list.appendChild(li);
    });
    if (search.value.trim() && !found.length) {
      list.appendChild(XiuhuaMap.text("li", "没有匹配的类别，请换个说法或从下方列表选择", "muted"));
    }
    list.hidden = !search.value.trim();
  }

  search.addEventListener("input", show);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var first = matches(search.value)[0];
      if (first) { choose(first); }
    }
  });
  window.XiuhuaPicker = { matches: matches };
})();
