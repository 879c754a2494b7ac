// Beacon console: countdowns, the live stream and selections. No inline scripts, no eval.
(function () {
  "use strict";
  const body = document.body;
  const i18n = JSON.parse(body.dataset.i18n || "{}");
  const MAX_ALERTS = 5;

  // Countdowns tick in the browser from deadlines the server rendered: the server sends
  // nothing per second. Amber when under a quarter of the clock is left, red once past.
  function formatLeft(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    const text = (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m";
    return ms < 0 ? "-" + text : text;
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown").forEach(function (el) {
      const due = Date.parse(el.dataset.due), start = Date.parse(el.dataset.start);
      const done = el.dataset.done === "1";
      const left = due - now;
      el.classList.toggle("due-done", done);
      el.classList.toggle("due-red", !done && left < 0);
      el.classList.toggle("due-amber", !done && left >= 0 && left < (due - start) / 4);
      let out = el.querySelector(".countdown-left");
      if (!out) {
        out = document.createElement("span");
        out.className = "countdown-left";
        el.appendChild(out);
      }
      out.textContent = done ? "✓" : formatLeft(left);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);

  // Selections survive the lanes being refetched.
  const selected = new Set();
  function restoreSelection() {
    document.querySelectorAll(".case-select").forEach(function (box) {
      box.checked = selected.has(box.value);
    });
    const count = document.getElementById("selected-count");
    if (count) count.textContent = String(selected.size);
  }
  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.classList.contains("case-select")) return;
    if (box.checked) selected.add(box.value); else selected.delete(box.value);
    restoreSelection();
  });
  document.addEventListener("htmx:afterSettle", restoreSelection);
  document.addEventListener("htmx:confirm", function (event) {
    const question = event.detail.question;
    if (question && question.indexOf("…") >= 0) {
      event.preventDefault();
      if (selected.size && window.confirm(question.replace("…", String(selected.size)))) {
        event.detail.issueRequest(true);
      }
    }
  });
  // An action that was done clears its form; a refused one keeps what the user typed.
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (form instanceof HTMLFormElement && form.classList.contains("action-form")
        && event.detail.xhr && event.detail.xhr.status === 200) {
      form.reset();
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.pathInfo && event.detail.pathInfo.requestPath === "/board/bulk") {
      selected.clear();
      restoreSelection();
      htmx.trigger(body, "beacon-refresh");
    }
  });

  // Live notices over SSE, with our own reconnect so the last id always goes along
  // (a new EventSource does not send Last-Event-ID): replay, or a full refresh.
  const liveUrl = body.dataset.live;
  if (!liveUrl) return;
  const status = document.getElementById("live-status");
  const pauseButton = document.getElementById("pause-live");
  const sound = document.getElementById("sound-toggle");
  let lastId = body.dataset.liveSince || "", source = null, retry = 1000, watchdog = null, paused = false;
  const pending = [];
  let poller = null;

  function show(state) {
    if (!status) return;
    status.textContent = i18n[state] || state;
    status.dataset.state = state;
    status.className = "badge " + ({live: "text-bg-success", reconnecting: "text-bg-warning",
      paused: "text-bg-info"}[state] || "text-bg-secondary");
  }
  // A burst of notices becomes one refetch per fragment, at most every COALESCE_MS, and
  // always one after the last notice (htmx's own throttle would drop that one).
  const COALESCE_MS = 500;
  const scheduled = new Map();
  function trigger(name, data) {
    if (scheduled.has(name)) return;
    scheduled.set(name, setTimeout(function () {
      scheduled.delete(name);
      htmx.trigger(body, name, data);
    }, COALESCE_MS));
  }
  function fire(kind, data) {
    trigger("beacon-" + kind, data);
    const id = data.case_id || data.incident_id;
    if (id) trigger("beacon-" + kind + "-" + id, data);
  }
  function alertNewCase(data) {
    const box = document.getElementById("alerts");
    if (!box) return;
    const note = document.createElement("a");
    note.className = "alert alert-danger live-alert level-" + data.response_level;
    note.href = "/cases/" + encodeURIComponent(data.case_id);
    note.textContent = (i18n.new_case || "New level {level} case").replace("{level}", data.response_level);
    box.prepend(note);
    while (box.children.length > MAX_ALERTS) box.lastElementChild.remove();
    if (sound && sound.checked) beep();
  }
  function beep() {
    try {
      const ctx = new AudioContext(), osc = ctx.createOscillator();
      osc.connect(ctx.destination);
      osc.frequency.value = 880;
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio here */ }
  }
  function handle(kind, event) {
    if (event.lastEventId) lastId = event.lastEventId;
    const data = JSON.parse(event.data || "{}");
    if (kind === "case" && data.topic === "complaint.triaged" && data.response_level <= 2) {
      alertNewCase(data);
    }
    if (paused) { pending.push([kind, data]); return; }
    fire(kind, data);
  }
  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(reconnect, 45000);  // three missed heartbeats
  }
  function connect() {
    const url = liveUrl + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    source.addEventListener("open", function () { retry = 1000; show(paused ? "paused" : "live"); stopPolling(); armWatchdog(); });
    source.addEventListener("hello", function (e) { armWatchdog(); if (!lastId) lastId = JSON.parse(e.data).id; });
    source.addEventListener("ping", armWatchdog);
    source.addEventListener("refresh", function (e) { lastId = e.lastEventId || lastId; htmx.trigger(body, "beacon-refresh"); });
    ["case", "incident", "notification", "alert", "statement"].forEach(function (kind) {
      source.addEventListener(kind, function (e) { armWatchdog(); handle(kind, e); });
    });
    source.addEventListener("error", reconnect);
  }
  function reconnect() {
    if (source) source.close();
    clearTimeout(watchdog);
    show("reconnecting");
    startPolling();
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  }
  // While the stream is down the page still refreshes itself, every 15 s.
  function startPolling() {
    if (!poller) poller = setInterval(function () { htmx.trigger(body, "beacon-refresh"); }, 15000);
  }
  function stopPolling() { clearInterval(poller); poller = null; }
  if (pauseButton) {
    pauseButton.addEventListener("click", function () {
      paused = !paused;
      pauseButton.setAttribute("aria-pressed", String(paused));
      show(paused ? "paused" : "live");
      if (!paused && pending.length) { pending.length = 0; htmx.trigger(body, "beacon-refresh"); }
    });
  }
  window.beaconLive = {lastId: function () { return lastId; }, reconnect: reconnect};
  connect();
})();
