
"use strict";
(function () {
  // The findings table: rows built from the JSON block with textContent only (never as HTML).
  var PAGE = 200;
  var data = JSON.parse(document.getElementById("data").textContent);
  var S = data.strings, rows = data.rows, rules = data.rules, orgs = data.orgs, statuses = data.statuses;
  var body = document.getElementById("rows");
  var q = document.getElementById("q"), statusSelect = document.getElementById("status");
  var count = document.getElementById("count"), more = document.getElementById("more");
  var haystacks = new Array(rows.length);
  var matches = [], shown = 0;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function statusText(i) { return statuses[i][1] + " " + statuses[i][0]; }
  function haystack(i) {
    var h = haystacks[i];
    if (h === undefined) {
      var r = rows[i], rule = rules[r[2]], org = orgs[r[1]];
      h = [statusText(r[0]), S[org[0]], S[org[1]], S[rule[0]], S[rule[1]], S[rule[2]], S[r[3]], r[4], r[5],
           S[r[6]], S[r[7]], r[9]].join("\n").toLowerCase();
      haystacks[i] = h;
    }
    return h;
  }
  function filter() {
    var text = q.value.trim().toLowerCase(), status = statusSelect.value;
    var wanted = status === "" ? null : statuses.findIndex(function (s) { return s[0] === status; });
    matches = [];
    for (var i = 0; i < rows.length; i++) {
      if (wanted !== null && rows[i][0] !== wanted) { continue; }
      if (text && haystack(i).indexOf(text) < 0) { continue; }
      matches.push(i);
    }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    shown = 0;
    page();
  }
  function page() {
    var end = Math.min(matches.length, shown + PAGE);
    var fragment = document.createDocumentFragment();
    for (var k = shown; k < end; k++) { fragment.appendChild(row(matches[k])); }
    body.appendChild(fragment);
    shown = end;
    count.textContent = "匹配 " + matches.length + " 项，显示 " + shown + " / " + rows.length +
      " · " + matches.length + " matching, " + shown + " shown of " + rows.length;
    more.hidden = shown >= matches.length;
  }
  function row(i) {
    var r = rows[i], rule = rules[r[2]], org = orgs[r[1]];
    var tr = el("tr", null, "f");
    tr.dataset.row = String(i);
    tr.appendChild(el("td", statusText(r[0]), "st-" + statuses[r[0]][0]));
    tr.appendChild(el("td", S[org[1]] + " (" + S[org[0]] + ")"));
    tr.appendChild(el("td", S[rule[0]] + " " + S[rule[1]]));
    tr.appendChild(el("td", S[r[3]]));
    tr.appendChild(el("td", r[4] + " .. " + r[5]));
    tr.appendChild(el("td", S[r[7]] + " ↔ " + S[r[6]]));
    tr.appendChild(el("td", r[9]));
    return tr;
  }
  function explain(i) {
    var r = rows[i], rule = rules[r[2]];
    var tr = el("tr", null, "detail"), td = el("td");
    td.colSpan = 7;
    var dl = el("dl");
    function item(label, value) { dl.appendChild(el("dt", label)); dl.appendChild(el("dd", value)); }
    item("应为 expected", S[r[6]]);
    item("实际 found", S[r[7]] + "（" + r[8] + "）");
    item("理由 reason", r[10]);
    item("证据 evidence (records counted)", r[11].length ? r[11].join("、") : "无 none");
    item("未计入的记录 records rejected",
         r[12].length ? r[12].map(function (x) { return x[0] + "：" + S[x[1]]; }).join("\n") : "无 none");
    if (r[13] !== null) { item("豁免 waiver", S[r[13]]); }
    item("规则 rule", S[rule[0]] + " " + S[rule[1]] + " / " + S[rule[2]] + "（" + S[rule[3]] + "，" + S[rule[5]] + "）");
    item("条款 clause", S[rule[4]]);
    td.appendChild(dl);
    tr.appendChild(td);
    return tr;
  }
  body.addEventListener("click", function (event) {
    var tr = event.target.closest("tr.f");
    if (!tr) { return; }
    var next = tr.nextElementSibling;
    if (next && next.classList.contains("detail")) { body.removeChild(next); return; }
    body.insertBefore(explain(Number(tr.dataset.row)), next);
  });
  q.addEventListener("input", filter);
  statusSelect.addEventListener("change", filter);
  more.addEventListener("click", page);
  filter();
})();
