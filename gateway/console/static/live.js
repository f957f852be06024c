// The dashboard's live updates: a server-sent event stream (/live) carries
// the dashboard's facts as JSON; this fills them in. No inline script: the
// console's Content-Security-Policy forbids it.
(function () {
  "use strict";
  var board = document.getElementById("dashboard");
  if (!board || !window.EventSource) { return; }

  function text(el, s) { el.textContent = s === undefined || s === null ? "" : String(s); }

  function cell(tr, s, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    text(td, s);
    tr.appendChild(td);
    return td;
  }

  function fill(tbodyId, rows, build, empty, cols) {
    var tb = document.getElementById(tbodyId);
    if (!tb) { return; }
    while (tb.firstChild) { tb.removeChild(tb.firstChild); }
    if (!rows || rows.length === 0) {
      var tr = document.createElement("tr");
      var td = cell(tr, empty, "empty");
      td.colSpan = cols;
      tb.appendChild(tr);
      return;
    }
    rows.forEach(function (r) { var tr = document.createElement("tr"); build(tr, r); tb.appendChild(tr); });
  }

  function update(d) {
    document.querySelectorAll("[data-live]").forEach(function (el) { text(el, d[el.getAttribute("data-live")]); });
    var pill = document.querySelector('[data-live="pms_state"]');
    if (pill) { pill.className = "pill " + d.pms_state; }
    fill("alarms", d.alarms, function (tr, a) { cell(tr, a.subject ? a.kind + " · " + a.subject : a.kind, "alarm"); cell(tr, a.since); cell(tr, a.text); }, "No alarms.", 3);
    fill("today", d.today, function (tr, t) { cell(tr, t.class); cell(tr, t.calls, "num"); cell(tr, t.revenue, "num"); }, "No chargeable calls yet today.", 3);
    fill("recent", d.recent, function (tr, c) {
      var td = document.createElement("td");
      var a = document.createElement("a");
      a.href = "/calls/" + c.id;
      text(a, c.id);
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, c.time); cell(tr, c.ext); cell(tr, c.room); cell(tr, c.dialed, "mono"); cell(tr, c.total, "num");
      var st = cell(tr, c.state);
      st.className = "state state-" + c.state;
    }, "No calls yet.", 7);
    var u = document.getElementById("live-state");
    if (u) { text(u, "live · last change " + d.updated + " site time"); u.className = "live on"; }
  }

  var es = new EventSource("/live");
  es.addEventListener("status", function (ev) {
    try { update(JSON.parse(ev.data)); } catch (e) { /* a bad event: wait for the next */ }
  });
  es.onerror = function () {
    var u = document.getElementById("live-state");
    if (u) { text(u, "reconnecting…"); u.className = "live off"; }
  };
})();
