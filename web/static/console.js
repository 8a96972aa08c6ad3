/* The clerk's console, its core: the hearing's state, the controls of its course (one-click start,
   open, phases, recess, close), the program feed and the director, the start's progress. The other
   parts (console_people.js: attendance, remote parties, devices; console_transcript.js: the live
   transcript and correction requests; console_record.js: the 笔录, evidence, mediation, the log) hook
   in through Console.on("render"|"event"|"start", fn). Everything shown comes from the API. */
"use strict";
const Console = (() => {
  const { api, $, el, showError, roleLabel, stream, receiveProgram, stateText } = Court;
  const hid = Court.hearingParam();
  const base = `/api/hearings/${hid}`;
  const hooks = { render: [], event: [], start: [] };
  const C = {
    hid, base, snap: null, me: null,
    on(kind, fn) { hooks[kind].push(fn); },
    fail(e) {
      if (e && e.status === 401) { location.href = `/login?hearing=${hid}`; return; }
      showError("#error", e);
    },
    /** A handler that clears the error box, runs, and shows what went wrong. */
    act(fn) {
      return async (...args) => {
        showError("#error", null);
        try { await fn(...args); } catch (e) { C.fail(e); }
      };
    },
    async refresh() {
      try { C.snap = await api("GET", base); } catch (e) { C.fail(e); return; }
      render();
    },
    soon(fn, ms = 300) {
      clearTimeout(fn.__timer);
      fn.__timer = setTimeout(fn, ms);
    },
    running() { return !!C.snap && C.snap.host === "running"; },
    participants() { return (C.snap && C.snap.participants) || []; },
  };

  let lastPhase = null;
  let program = null;          // the program feed's receiver (checked again on each state change)
  const HOST = { idle: "未启动", starting: "启动中", running: "运行中", failed: "启动失败", closed: "已结束" };

  function render() {
    const s = C.snap;
    $("#case").textContent = `${s.case_number}　${s.cause}`;
    document.title = `${s.case_number} · 书记员控制台`;
    $("#state").textContent = Court.STATES[s.state] || "";
    $("#state").dataset.state = s.state;
    $("#phase").textContent = s.phase_label || "";
    $("#host").textContent = elsewhere(s) ? `在${s.room.room}` : HOST[s.host] || "";
    $("#host").dataset.host = s.host;
    $("#status").textContent = statusText(s);
    $("#status").dataset.state = s.state;
    const running = s.host === "running";
    // The one-click start; after a server restart the same button carries the hearing on.
    const startable = ["scheduled", "preparing", "in_session", "recess"].includes(s.state)
      && (s.host === "idle" || s.host === "failed") && !elsewhere(s);
    $("#start").disabled = !startable;
    $("#start").classList.toggle("hidden", !startable && s.host !== "starting");
    $("#start").textContent = ["in_session", "recess"].includes(s.state) ? "恢复庭审" : "一键启动";
    if (s.host === "failed" && s.error) showError("#start-error", { detail: `启动失败：${Court.human(s.error)}` });
    for (const id of ["#open", "#phase-go", "#recess", "#resume", "#close", "#dir-auto", "#dir-lock",
                      "#dir-select", "#mask-go", "#caucus-applicant", "#caucus-respondent", "#caucus-end"]) {
      $(id).disabled = !running;
    }
    if (running) {
      $("#open").disabled = s.state !== "preparing";
      $("#recess").disabled = s.state !== "in_session";
      $("#resume").disabled = s.state !== "recess";
      $("#phase-go").disabled = s.state !== "in_session";
      $("#close").disabled = !(s.state === "in_session" || s.state === "recess");
      $("#caucus-applicant").disabled = $("#caucus-respondent").disabled = !!s.caucus;
      $("#caucus-end").disabled = !s.caucus;
    }
    for (const id of ["#open", "#phase-select", "#phase-go", "#recess", "#resume", "#close"]) {
      $(id).classList.toggle("hidden", Court.ended(s));
    }
    const order = ["investigation", "evidence", "debate", "final_statements", "mediation"];
    if (s.phase && s.phase !== lastPhase) {
      lastPhase = s.phase;
      const next = order[Math.min(order.length - 1, order.indexOf(s.phase) + 1)];
      $("#phase-select").value = order.includes(s.phase) ? next : "investigation";
    }
    $("#controls").classList.toggle("hidden", Court.ended(s));
    $("#startup").classList.toggle("collapsed", s.state !== "scheduled" && s.state !== "preparing" && s.host !== "starting");
    renderWhere(s);
    renderDirector(s);
    if (program) program.check();
    for (const fn of hooks.render) fn(s);
  }

  /** Another room holds the hearing, and its node is up: this console may only look. */
  function elsewhere(s) { return !!s.room && !s.room.here && !s.room.down; }

  /** Where the hearing runs when it is not this room (several rooms share one database). */
  function renderWhere(s) {
    const r = s.room;
    const box = $("#where");
    box.classList.toggle("hidden", !r || r.here);
    if (!r || r.here) return;
    box.textContent = "";
    box.dataset.room = r.room;
    if (r.down) {
      box.append(`本庭审由「${r.room}」主持，该庭节点已失联；租约到期后可在本庭点击“恢复庭审”接续（须共享录像存储）。`);
      return;
    }
    box.append(`本庭审正在「${r.room}」进行（${Court.dateTime(r.since)} 起），请在该庭控制台操作。`);
    if (r.url) box.append(" ", el("a", { href: `${r.url}/console?hearing=${hid}` }, "前往该庭控制台"));
  }

  function statusText(s) {
    const base = stateText(s);
    if (s.room && !s.room.here && s.host !== "running") {
      return s.room.down ? `${base} · 「${s.room.room}」节点已失联` : `${base} · 由「${s.room.room}」主持`;
    }
    if (s.host === "failed") return `${base} · 启动失败，可再次一键启动`;
    if (s.host === "starting") return s.state === "preparing" ? "庭前准备 · 正在一键启动，录音录像已开始" : base;
    if (s.state === "preparing" && s.host === "running") return `${base} · 到庭核验和庭审纪律已完成，可以开庭`;
    if (Court.ended(s)) return `${base} · 录音录像已结束，笔录已锁定`;
    if (s.host === "idle" && ["preparing", "in_session", "recess"].includes(s.state)) return `${base} · 服务器重启后未运行，请一键启动恢复`;
    if (s.state === "scheduled") return `${base} · 点击“一键启动”：设备自检、大屏显示、录音录像、到庭核验、播放庭审纪律`;
    return base;
  }

  function fillSelect(select, options) {
    const keep = select.value;
    const key = JSON.stringify(options);
    if (select.dataset.key === key) return;
    select.dataset.key = key;
    select.textContent = "";
    for (const [value, text] of options) select.append(el("option", { value, text }));
    if (options.some(([v]) => v === keep)) select.value = keep;
  }
  C.fillSelect = fillSelect;

  function renderDirector(s) {
    const d = s.director;
    $("#livestream-row").classList.toggle("hidden", !s.livestream_allowed);
    $("#livestream-state").textContent = s.public_live ? "公开直播中（延时播出）" : "公开直播未开启";
    $("#livestream").textContent = s.public_live ? "切断公开直播" : "开启公开直播";
    $("#livestream").classList.toggle("danger", !!s.public_live);
    $("#livestream").disabled = s.host !== "running";
    $("#caucus-state").textContent = s.caucus ? `进行中：${s.caucus.side === "applicant" ? "申请人方" : "被申请人方"}` : "";
    if (!d || s.host !== "running") { $("#director").textContent = ""; return; }
    const mode = { auto: "自动", manual: "手动", locked: "锁定" }[d.mode] || "";
    const masks = Object.entries(d.masks || {}).map(([k, v]) => `${k === "*" ? "整个画面" : Court.deviceLabel(k, "camera", C.participants())}${v === "slate" ? "挡板" : "模糊"}`);
    $("#director").textContent = `当前机位：${d.camera ? Court.deviceLabel(d.camera, "camera", C.participants()) : "—"}（${mode}）`
      + (masks.length ? `　遮蔽：${masks.join("，")}` : "");
    fillSelect($("#dir-camera"), d.cameras.map((c) => [c, Court.deviceLabel(c, "camera", C.participants())]));
    fillSelect($("#mask-target"), [["*", "整个画面"], ...d.cameras.map((c) => [c, Court.deviceLabel(c, "camera", C.participants())])]);
  }

  // -- the start's progress from the timeline ------------------------------------------------------

  function step(name, cls) {
    const li = $(`#steps li[data-step="${name}"]`);
    if (!li) return;
    if (li.classList.contains("failed") && cls !== "failed") return;
    li.classList.remove("running", "done", "failed");
    li.classList.add(cls);
  }
  const STEP_OF_FAILURE = { devices: "devices", device_check: "devices", display: "display", recording: "recording",
    attendance: "attendance", rules: "rules" };

  function onStartEvent(e) {
    const t = e.type;
    if (t === "startup.requested" || t === "startup.retried") {
      for (const li of document.querySelectorAll("#steps li")) li.classList.remove("running", "done", "failed");
      showError("#start-error", null);
      step("devices", "running");
    } else if (t === "device.checked" || t === "device.fault") step("devices", "done");
    else if (t === "display.shown") step("display", "done");
    else if (t === "display.fault") step("display", "failed");
    else if (t === "recording.started") {
      step("recording", "done");
      if (!$("#steps li[data-step='attendance']").classList.contains("done")) step("attendance", "running");
    }
    else if (t === "attendance.checked") step("attendance", "done");
    else if (t === "rules.started") step("rules", "running");
    else if (t === "rules.played") step("rules", "done");
    else if (t === "startup.completed") {
      for (const n of ["devices", "display", "recording", "attendance", "rules", "completed"]) step(n, "done");
    } else if (t === "startup.failed") {
      step(STEP_OF_FAILURE[e.step] || "completed", "failed");
      showError("#start-error", { detail: `启动失败：${Court.human(e.reason)}` });
    }
  }

  function onEvent(e) {
    onStartEvent(e);
    for (const fn of hooks.event) fn(e);
    if (/^(hearing|startup|remote|attendance|caucus|livestream|bilu)\./.test(e.type)) C.soon(C.refresh);
  }

  // -- buttons -------------------------------------------------------------------------------------------

  function wire() {
    $("#start").addEventListener("click", C.act(async () => {
      showError("#start-error", null);
      for (const li of document.querySelectorAll("#steps li")) li.classList.remove("running", "done", "failed");
      step("devices", "running");
      $("#start").disabled = true;
      C.snap = await api("POST", `${base}/start`);
      render();
    }));
    $("#open").addEventListener("click", C.act(async () => { await api("POST", `${base}/open`); await C.refresh(); }));
    $("#phase-go").addEventListener("click", C.act(async () => {
      await api("POST", `${base}/phase`, { phase: $("#phase-select").value }); await C.refresh();
    }));
    $("#recess").addEventListener("click", C.act(async () => {
      await api("POST", `${base}/recess`, { reason: "休庭" }); await C.refresh();
    }));
    $("#resume").addEventListener("click", C.act(async () => { await api("POST", `${base}/resume`); await C.refresh(); }));
    $("#close").addEventListener("click", () => { $("#confirm-close").classList.remove("hidden"); $("#close-yes").focus(); });
    $("#close-no").addEventListener("click", () => $("#confirm-close").classList.add("hidden"));
    $("#close-yes").addEventListener("click", C.act(async () => {
      $("#confirm-close").classList.add("hidden");
      $("#close").disabled = true;
      await api("POST", `${base}/close`);
      await C.refresh();
    }));
    const direct = (action) => C.act(async () => {
      const body = { action, reason: "书记员操作" };
      if (action !== "auto") body.camera = $("#dir-camera").value;
      if (action === "lock") body.seconds = Number($("#dir-seconds").value) || 30;
      C.snap = await api("POST", `${base}/director`, body); render();
    });
    $("#dir-auto").addEventListener("click", direct("auto"));
    $("#dir-lock").addEventListener("click", direct("lock"));
    $("#dir-select").addEventListener("click", direct("select"));
    $("#mask-go").addEventListener("click", C.act(async () => {
      const mode = $("#mask-mode").value || null;
      C.snap = await api("POST", `${base}/mask`, { target: $("#mask-target").value, mode, reason: $("#mask-reason").value });
      render();
    }));
    $("#livestream").addEventListener("click", C.act(async () => {
      const on = !(C.snap && C.snap.public_live);
      C.snap = await api("POST", `${base}/livestream`, { on, reason: on ? "书记员开启" : "书记员切断直播" });
      render();
    }));
    $("#caucus-applicant").addEventListener("click", C.act(async () => { C.snap = await api("POST", `${base}/caucus`, { side: "applicant" }); render(); }));
    $("#caucus-respondent").addEventListener("click", C.act(async () => { C.snap = await api("POST", `${base}/caucus`, { side: "respondent" }); render(); }));
    $("#caucus-end").addEventListener("click", C.act(async () => { C.snap = await api("DELETE", `${base}/caucus`); render(); }));
    $("#unmute").addEventListener("click", () => {
      const v = $("#program-video");
      v.muted = !v.muted;
      if (!v.muted) v.play().catch(() => {});
      $("#unmute").textContent = v.muted ? "开启声音" : "关闭声音";
    });
    $("#logout").addEventListener("click", async () => { await api("POST", "/api/logout").catch(() => {}); location.href = "/login"; });
  }

  function programIdle() {
    const s = C.snap;
    if (!s) return "";
    if (Court.ended(s)) return "已闭庭，画面已结束";
    if (s.host === "starting") return "正在一键启动…";
    if (s.host === "failed") return "启动失败";
    return "庭审尚未开始，开始后自动显示画面";
  }

  /** A page for a hearing that cannot be opened (none with that number): nothing live stays. */
  function notFound() {
    const main = document.querySelector("main");
    main.textContent = "";
    main.append(el("section", { class: "card", "data-testid": "not-found" },
      el("h2", { text: "没有这个庭审" }),
      el("p", { text: "地址中的庭审编号不存在，或该庭审已被删除。" }),
      el("p", {}, el("a", { href: "/login", text: "返回庭审列表" }))));
    for (const b of document.querySelectorAll("header button")) b.disabled = true;
  }

  C.go = async () => {
    if (!hid) { notFound(); return; }
    wire();
    setInterval(() => { $("#now").textContent = `北京时间 ${Court.timeOfDay(new Date())}`; }, 1000);
    try { C.me = await api("GET", "/api/me"); } catch (e) { C.fail(e); return; }
    if (C.me.role === "arbitrator") document.querySelector("header h1").textContent = "仲裁员控制台";
    try { C.snap = await api("GET", base); } catch (e) {
      if (e.status === 404 || e.status === 422) { notFound(); return; }
      C.fail(e); return;
    }
    render();
    for (const fn of hooks.start) await fn();
    stream(hid, onEvent);
    program = receiveProgram(hid, $("#program-video"), (text, kind) => {
      $("#program-state").textContent = text;
      $("#program").dataset.state = kind;
    }, () => C.live(), programIdle);
    setInterval(() => $("#unmute").classList.toggle("hidden", !C.live()), 1000);
    setInterval(C.refresh, 5000);
  };
  C.live = () => Court.live(C.snap);
  C.render = () => { if (C.snap) render(); };
  return C;
})();
