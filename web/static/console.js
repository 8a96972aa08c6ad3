/* The clerk's console: the one-click start, the hearing's controls, the program feed, the lobby,
   the live transcript (corrected in place), evidence. Everything shown comes from the API. */
"use strict";
(() => {
  const { api, $, el, showError, clock, roleLabel, stream, receiveProgram, ROLE_LABELS, PHASES } = Court;
  const hid = Court.param("hearing");
  if (!hid) { location.href = "/login"; return; }
  const base = `/api/hearings/${hid}`;
  let snap = null;
  let me = null;
  const lines = new Map();          // line id -> element
  const seen = new Set();           // event seqs handled

  const fail = (e) => {
    if (e && e.status === 401) { location.href = `/login?hearing=${hid}`; return; }
    showError("#error", e);
  };
  const act = (fn) => async (...args) => {
    showError("#error", null);
    try { await fn(...args); } catch (e) { fail(e); }
  };

  // -- the hearing's state ------------------------------------------------------------------------

  async function refresh() {
    try {
      snap = await api("GET", base);
    } catch (e) { fail(e); return; }
    render();
  }

  function render() {
    const s = snap;
    $("#case").textContent = `${s.case_number}　${s.cause}`;
    document.title = `${s.case_number} · 书记员控制台`;
    $("#state").textContent = s.state_label || s.state;
    $("#state").dataset.state = s.state;
    $("#phase").textContent = s.phase_label || "";
    $("#host").textContent = { idle: "未启动", starting: "启动中", running: "运行中", failed: "启动失败", closed: "已结束" }[s.host] || s.host;
    $("#host").dataset.host = s.host;
    const running = s.host === "running";
    $("#start").disabled = s.host === "starting" || running || s.state !== "scheduled";
    if (s.host === "failed" && s.error) showError("#start-error", { detail: `启动失败：${s.error}` });
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
    if (s.phase) $("#phase-select").value = s.phase;
    // director
    const d = s.director;
    if (d) {
      const masks = Object.entries(d.masks || {}).map(([k, v]) => `${k === "*" ? "整个画面" : k}:${v === "slate" ? "挡板" : "模糊"}`);
      $("#director").textContent = `当前机位 ${d.camera || "—"}（${{ auto: "自动", manual: "手动", locked: "锁定" }[d.mode] || d.mode}）`
        + (masks.length ? `　遮蔽：${masks.join("，")}` : "") + (d.caption ? `　字幕：${d.caption}` : "");
      fillSelect($("#dir-camera"), d.cameras.map((c) => [c, c]));
      fillSelect($("#mask-target"), [["*", "整个画面"], ...d.cameras.map((c) => [c, c])]);
    }
    // livestream
    $("#livestream-row").classList.toggle("hidden", !s.livestream_allowed);
    $("#livestream-state").textContent = s.public_live ? "公开直播中（延时播出）" : "公开直播未开启";
    $("#livestream").textContent = s.public_live ? "切断公开直播" : "开启公开直播";
    $("#livestream").classList.toggle("danger", !!s.public_live);
    $("#livestream").disabled = !running;
    $("#caucus-state").textContent = s.caucus ? `进行中：${s.caucus.side === "applicant" ? "申请人方" : "被申请人方"}` : "";
    renderDevices(s.devices || []);
    renderLobby(s.remotes || []);
    renderInvites(s.participants || []);
    renderAttendance(s.attendance || []);
    renderDoorCheck(s);
  }

  const PARTY_SIDE = new Set(["applicant", "applicant_agent", "respondent", "respondent_agent", "third_party", "third_party_agent"]);

  // The door terminal's face check during the start, and the clerk's confirmation in person.
  function renderDoorCheck(s) {
    const box = $("#door-check");
    box.textContent = "";
    if (s.door_check) {
      box.append(el("p", { class: "notice", text: "门口人脸核验进行中：当事人在门口终端前核验身份，未到者可当面确认。" }),
        el("button", { id: "door-close", "data-testid": "door-close", class: "secondary", onclick: act(async () => {
          await api("POST", `${base}/attendance/close`);
          await refresh();
        }) }, "结束到庭核验"));
    }
    const present = new Set((s.attendance || []).filter((a) => a.status === "present").map((a) => a.participant_id));
    const waiting = (s.participants || []).filter((p) => PARTY_SIDE.has(p.role) && !present.has(p.id));
    if (s.host !== "starting" && s.host !== "running") return;
    for (const p of waiting) {
      box.append(el("div", { class: "row" }, `${roleLabel(p.role)} ${p.name}`, " ",
        el("button", { class: "secondary", "data-confirm": p.id, onclick: act(async () => {
          const reason = window.prompt(`当面确认 ${p.name} 到庭的理由`, "当面核对身份证件");
          if (!reason) return;
          await api("POST", `${base}/attendance`, { participant_id: p.id, reason });
          await refresh();
        }) }, "当面确认到庭")));
    }
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

  const deviceState = new Map();   // device id -> {ready, detail, kind}
  function renderDevices(faults) {
    for (const f of faults) {
      deviceState.set(f.source, { ready: !f.fault, detail: f.fault || "", kind: (deviceState.get(f.source) || {}).kind });
    }
    const ul = $("#devices");
    if (!deviceState.size) return;
    ul.textContent = "";
    for (const [id, d] of [...deviceState.entries()].sort()) {
      ul.append(el("li", { "data-device": id },
        el("span", { class: `badge ${d.ready ? "ok" : "bad"}`, text: d.ready ? "正常" : "故障" }), " ",
        el("span", { text: id }), " ",
        el("span", { class: "muted", text: d.detail || d.kind || "" })));
    }
  }

  function renderLobby(remotes) {
    const ul = $("#lobby");
    ul.textContent = "";
    if (!remotes.length) { ul.append(el("li", { class: "muted", text: "暂无" })); return; }
    for (const r of remotes) {
      const sim = r.similarity === null || r.similarity === undefined ? "" : `相似度 ${Number(r.similarity).toFixed(2)}`;
      ul.append(el("li", { "data-participant": r.participant_id, "data-state": r.state },
        el("strong", { text: `${r.role_label} ${r.name}` }), " ",
        el("span", { class: `badge ${r.state === "connected" ? "ok" : r.state === "rejected" || r.state === "left" ? "bad" : "warn"}`, text: r.state_label }), " ",
        el("span", { class: "muted", text: sim }), " ",
        el("button", { type: "button", class: "primary admit", "data-testid": `admit-${r.participant_id}`,
          disabled: !(r.state === "lobby" || r.state === "rejected"),
          onclick: act(async () => { await api("POST", `${base}/remote/${r.participant_id}/admit`); await refresh(); }) }, "准许入庭"),
        " ",
        el("button", { type: "button", class: "danger reject", disabled: r.state === "rejected",
          onclick: act(async () => {
            const reason = prompt("不准许入庭的理由：", "身份核验未通过");
            if (reason === null) return;
            await api("POST", `${base}/remote/${r.participant_id}/reject`, { reason });
            await refresh();
          }) }, "拒绝")));
    }
  }

  function renderInvites(participants) {
    const ul = $("#invite-list");
    const parties = participants.filter((p) => !["presiding_arbitrator", "arbitrator", "clerk"].includes(p.role));
    const key = JSON.stringify(parties.map((p) => p.id));
    if (ul.dataset.key === key) return;
    ul.dataset.key = key;
    ul.textContent = "";
    for (const p of parties) {
      ul.append(el("li", { "data-participant": p.id },
        el("span", { text: `${p.role_label} ${p.name}${p.remote ? "（远程）" : ""}` }), " ",
        el("button", { type: "button", class: "invite", "data-testid": `invite-${p.id}`,
          onclick: act(async () => {
            const live = (snap && snap.remotes || []).find((r) => r.participant_id === p.id && r.state !== "rejected");
            if (live && !confirm(`重新生成邀请会使${p.name}原来的邀请码和登录失效，确定？`)) return;
            const inv = await api("POST", `${base}/invitations`, { participant_id: p.id });
            const box = $("#invitation");
            box.textContent = "";
            box.append(`邀请码（发给${p.name}）：`, el("span", { class: "code", id: "invitation-code", text: inv.code }),
              el("br"), "链接：", el("a", { href: inv.url, id: "invitation-url", target: "_blank", text: inv.url }),
              el("br"), el("span", { class: "muted", text: `有效期至 ${new Date(inv.expires_at).toLocaleString("zh-CN")}` }));
            box.classList.remove("hidden");
          }) }, "生成邀请")));
    }
  }

  function renderAttendance(rows) {
    const ul = $("#attendance");
    ul.textContent = "";
    if (!rows.length) { ul.append(el("li", { class: "muted", text: "暂无" })); return; }
    for (const a of rows) {
      const how = { face: "人脸核验", clerk: "书记员确认" }[a.method] || a.method || "";
      ul.append(el("li", { "data-participant": a.participant_id, "data-status": a.status },
        el("span", { class: `badge ${a.status === "present" ? "ok" : "bad"}`, text: a.status === "present" ? "到庭" : "缺席" }), " ",
        `${roleLabel(a.role)} ${a.name}`, " ",
        el("span", { class: "muted", text: how + (a.similarity ? `（${Number(a.similarity).toFixed(2)}）` : "") })));
    }
  }

  // -- the start's progress from the timeline ------------------------------------------------------

  function step(name, cls, note) {
    const li = $(`#steps li[data-step="${name}"]`);
    if (!li) return;
    if (li.classList.contains("failed") && cls !== "failed") return;
    li.classList.remove("running", "done", "failed");
    li.classList.add(cls);
    if (note) li.title = note;
  }

  function onStartEvent(e) {
    const t = e.type;
    if (t === "startup.requested") step("devices", "running");
    else if (t === "device.checked" || t === "device.fault") {
      step("devices", "done");
      const prior = deviceState.get(e.device) || {};
      deviceState.set(e.device, { ready: t === "device.checked", detail: e.detail || "", kind: e.kind || prior.kind });
      renderDevices([]);
    } else if (t === "display.shown") step("display", "done");
    else if (t === "display.fault") step("display", "failed", e.detail);
    else if (t === "recording.started") step("recording", "done");
    else if (t.startsWith("recording.")) { /* segments, backups: the devices list shows faults */ }
    else if (t === "attendance.checked") step("attendance", "done");
    else if (t.startsWith("attendance.")) step("attendance", "running");
    else if (t === "rules.started") step("rules", "running");
    else if (t === "rules.played") step("rules", "done");
    else if (t === "startup.completed") {
      for (const n of ["devices", "display", "recording", "attendance", "rules", "completed"]) step(n, "done");
    } else if (t === "startup.failed") {
      const s = { devices: "devices", display: "display", recording: "recording", attendance: "attendance", rules: "rules" }[e.step] || "completed";
      step(s, "failed", e.reason);
      showError("#start-error", { detail: `启动失败（${e.step}）：${e.reason}` });
    }
  }

  // -- the live transcript ---------------------------------------------------------------------------

  function roleOptions(current) {
    const select = el("select", { class: "role", "aria-label": "更正角色" });
    for (const [value, text] of Object.entries(ROLE_LABELS)) select.append(el("option", { value, text }));
    select.value = current;
    return select;
  }

  function renderLine(l) {
    const existing = lines.get(l.id);
    const text = el("div", { class: "text", title: "点击回放这一段录音", text: l.text });
    const line = el("div", { class: `line${l.corrected ? " corrected" : ""}`, "data-id": l.id, "data-role": l.role,
      "data-source": l.source || "", "data-start": l.start, "data-end": l.end },
      el("span", { class: "who", text: roleLabel(l.role, l.role_label) }),
      text,
      el("span", { class: "when", text: clock(l.start) }));
    const select = roleOptions(l.role);
    const edit = el("button", { type: "button", class: "edit", text: "编辑" });
    const play = el("button", { type: "button", class: "play", text: "▶ 回放" });
    line.append(el("div", { class: "tools" }, edit, select, play));
    text.addEventListener("click", () => { if (text.isContentEditable) return; playLine(l); });
    play.addEventListener("click", () => playLine(l));
    edit.addEventListener("click", () => {
      text.contentEditable = "true";
      text.focus();
      edit.classList.add("hidden");
    });
    const save = act(async () => {
      if (!text.isContentEditable) return;
      text.contentEditable = "false";
      edit.classList.remove("hidden");
      const value = text.textContent.trim();
      if (value && value !== l.text) {
        await api("PATCH", `${base}/transcript/${encodeURIComponent(l.id)}`, { text: value });
        l.text = value;
        line.classList.add("corrected");
      }
    });
    text.addEventListener("blur", save);
    text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); text.blur(); }
      if (ev.key === "Escape") { text.textContent = l.text; text.blur(); }
    });
    select.addEventListener("change", act(async () => {
      await api("PATCH", `${base}/transcript/${encodeURIComponent(l.id)}`, { role: select.value });
      l.role = select.value; l.role_label = ROLE_LABELS[select.value];
      line.dataset.role = l.role;
      $(".who", line).textContent = l.role_label;
      line.classList.add("corrected");
    }));
    const box = $("#transcript");
    if (existing) existing.replaceWith(line);
    else {
      const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
      box.append(line);
      if (atEnd) box.scrollTop = box.scrollHeight;
    }
    lines.set(l.id, line);
  }

  function playLine(l) {
    if (!l.source) return;
    const player = $("#player");
    const q = new URLSearchParams({ source: l.source, start: Math.max(0, l.start).toFixed(3), end: Math.max(l.end, l.start + 0.1).toFixed(3) });
    player.src = `${base}/audio?${q}`;
    player.classList.remove("hidden");
    player.play().catch((e) => showError("#error", { detail: `无法回放：${e.message}` }));
  }

  async function loadTranscript() {
    try {
      const all = await api("GET", `${base}/transcript`);
      const box = $("#transcript");
      box.textContent = "";
      lines.clear();
      for (const l of all) renderLine(l);
    } catch (e) { fail(e); }
  }

  // -- evidence ----------------------------------------------------------------------------------------

  async function loadEvidence() {
    let items;
    try { items = await api("GET", `${base}/evidence`); } catch (e) { fail(e); return; }
    const ul = $("#evidence");
    ul.textContent = "";
    if (!items.length) { ul.append(el("li", { class: "muted", text: "暂无" })); return; }
    for (const it of items) {
      ul.append(el("li", { "data-evidence": it.id },
        el("a", { href: it.url, target: "_blank", text: it.title || it.filename }), " ",
        el("span", { class: "muted", text: `${it.submitter || ""} · ${(it.size / 1024).toFixed(0)} KB · SHA-256 ${it.sha256.slice(0, 12)}…` }), " ",
        el("button", { type: "button", class: "present", onclick: act(async () => {
          await api("POST", `${base}/evidence/${it.id}/present`);
        }) }, "上屏展示")));
    }
  }

  // -- the mediation settlement (调解协议) ----------------------------------------------------------------

  let settlement = null;
  async function loadSettlement() {
    try { settlement = await api("GET", `${base}/settlement`); } catch (e) { fail(e); return; }
    const s = settlement;
    const version = $("#settlement-version");
    const ul = $("#settlement-signatures");
    ul.textContent = "";
    if (!s.sha256) { version.textContent = "尚未提交"; return; }
    version.textContent = `第 ${s.version} 版　SHA-256 ${s.sha256.slice(0, 16)}…　`
      + (s.concluded ? "各方已签署，协议达成" : "等待当事人签署");
    version.dataset.concluded = s.concluded ? "1" : "0";
    const text = $("#settlement-text");
    if (!text.value.trim()) text.value = s.text;
    $("#settlement-submit").disabled = !!s.concluded;
    const names = new Map(((snap && snap.participants) || []).map((p) => [p.id, `${p.role_label} ${p.name}`]));
    const done = new Set();
    for (const sig of s.signatures || []) {
      done.add(sig.participant_id);
      ul.append(el("li", { "data-participant": sig.participant_id, "data-refused": sig.refused ? "1" : "0" },
        el("span", { class: `badge ${sig.refused ? "bad" : "ok"}`, text: sig.refused ? "不同意" : "已签署" }), " ",
        `${sig.role_label || roleLabel(sig.role)} ${sig.name}`, " ",
        el("span", { class: "muted", text: `${new Date(sig.signed_at).toLocaleTimeString("zh-CN")}${sig.refused && sig.reason ? `　理由：${sig.reason}` : ""}` })));
    }
    for (const pid of s.required || []) {
      if (done.has(pid)) continue;
      ul.append(el("li", { "data-participant": pid, "data-pending": "1" },
        el("span", { class: "badge warn", text: "待签署" }), " ", names.get(pid) || `参与人 ${pid}`));
    }
  }

  $("#settlement-submit").addEventListener("click", async () => {
    showError("#settlement-error", null);
    const text = $("#settlement-text").value.trim();
    if (!text) { showError("#settlement-error", { detail: "请先填写调解协议的内容。" }); return; }
    if (settlement && settlement.sha256 && settlement.text !== text
        && !confirm("提交新文本后，当事人已作的签署将失效，须重新签署。确定提交？")) return;
    $("#settlement-submit").disabled = true;
    try {
      settlement = await api("POST", `${base}/settlement`, { text });
      await loadSettlement();
    } catch (e) {
      if (e.status === 401) { fail(e); return; }
      showError("#settlement-error", e);
    } finally {
      $("#settlement-submit").disabled = !!(settlement && settlement.concluded);
    }
  });

  // -- the timeline ------------------------------------------------------------------------------------

  const LOGGED = /^(hearing\.|startup\.|remote\.|attendance\.(present|absent|checked|remote_check)|rules\.|evidence\.|caucus\.|livestream\.|bilu\.|settlement\.|device\.fault|display\.|recording\.(started|stopped|interrupted|resumed))/;
  let refreshTimer = null;
  let settlementTimer = null;
  function soonSettlement() {
    clearTimeout(settlementTimer);
    settlementTimer = setTimeout(loadSettlement, 200);
  }
  function soon(fn, ms = 300) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(fn, ms);
  }

  function onEvent(e) {
    if (seen.has(e.seq)) return;
    seen.add(e.seq);
    onStartEvent(e);
    if (e.type === "utterance") {
      renderLine({ id: `u${e.seq}`, role: e.role, role_label: e.role_label, text: e.text, start: e.start,
                   end: e.end, source: e.source, corrected: false });
    } else if (e.type.startsWith("utterance.")) {
      loadTranscript();
    }
    if (e.type.startsWith("evidence.")) loadEvidence();
    if (e.type.startsWith("settlement.")) soonSettlement();
    if (LOGGED.test(e.type)) {
      const log = $("#log");
      const what = describe(e);
      log.prepend(el("li", { "data-type": e.type }, el("span", { class: "muted", text: `${clock(e.t)} ` }), what));
      while (log.children.length > 200) log.lastChild.remove();
      if (/^(hearing|startup|remote|attendance|caucus|livestream|program|director)\./.test(e.type)) soon(refresh);
    }
  }

  function describe(e) {
    const who = e.name ? `${e.role_label || roleLabel(e.role)} ${e.name}` : "";
    switch (e.type) {
      case "startup.requested": return "一键启动";
      case "startup.completed": return "启动完成";
      case "startup.failed": return `启动失败：${e.reason}`;
      case "hearing.opened": return "开庭";
      case "hearing.phase": return `进入${PHASES[e.phase] || e.phase}`;
      case "hearing.recessed": return `休庭${e.reason ? "：" + e.reason : ""}`;
      case "hearing.resumed": return "继续开庭";
      case "hearing.closed": return "闭庭";
      case "remote.lobby": return `${who} 通过人脸核验，在等候室`;
      case "remote.admitted": return `${who} 准许入庭`;
      case "remote.rejected": return `${who} 未准许入庭`;
      case "remote.connected": return `${who} 已连线`;
      case "remote.disconnected": return `${who} 断开：${e.reason || ""}`;
      case "attendance.present": return `${who} 到庭`;
      case "attendance.absent": return `${who} 缺席`;
      case "attendance.remote_check": return `${who} 远程人脸核验${e.admitted ? "通过" : "未通过"}`;
      case "rules.started": return "开始宣读庭审纪律";
      case "rules.played": return "庭审纪律宣读完毕";
      case "evidence.submitted": return `提交证据：${e.title || ""}`;
      case "evidence.presented": return `展示证据：${e.title || ""}`;
      case "settlement.drafted": return `调解协议第 ${e.version} 版已提交（SHA-256 ${String(e.sha256 || "").slice(0, 12)}…）`;
      case "settlement.signed": return `${e.role_label || roleLabel(e.role)} ${e.name} 签署调解协议第 ${e.version} 版`;
      case "settlement.sign_refused": return `${e.role_label || roleLabel(e.role)} ${e.name} 不同意调解协议：${e.reason || ""}`;
      case "settlement.concluded": return `调解协议第 ${e.version} 版各方签署完毕，协议达成`;
      case "caucus.started": return "背靠背调解开始";
      case "caucus.ended": return "背靠背调解结束";
      case "livestream.started": return "公开直播开启";
      case "livestream.stopped": return "公开直播切断";
      case "device.fault": return `设备故障：${e.device} ${e.detail || ""}`;
      default: return e.type;
    }
  }

  // -- buttons -------------------------------------------------------------------------------------------

  $("#start").addEventListener("click", act(async () => {
    showError("#start-error", null);
    for (const li of document.querySelectorAll("#steps li")) li.classList.remove("running", "done", "failed");
    step("devices", "running");
    $("#start").disabled = true;
    snap = await api("POST", `${base}/start`);
    render();
  }));
  $("#open").addEventListener("click", act(async () => { await api("POST", `${base}/open`); await refresh(); }));
  $("#phase-go").addEventListener("click", act(async () => {
    await api("POST", `${base}/phase`, { phase: $("#phase-select").value }); await refresh();
  }));
  $("#recess").addEventListener("click", act(async () => {
    const reason = prompt("休庭理由：", "休庭");
    if (reason === null) return;
    await api("POST", `${base}/recess`, { reason }); await refresh();
  }));
  $("#resume").addEventListener("click", act(async () => { await api("POST", `${base}/resume`); await refresh(); }));
  $("#close").addEventListener("click", act(async () => {
    if (!confirm("确认闭庭？闭庭后笔录将锁定并送当事人签署。")) return;
    await api("POST", `${base}/close`); await refresh();
  }));
  const direct = (action) => act(async () => {
    const body = { action, reason: "书记员操作" };
    if (action !== "auto") body.camera = $("#dir-camera").value;
    if (action === "lock") body.seconds = Number($("#dir-seconds").value) || 30;
    snap = await api("POST", `${base}/director`, body); render();
  });
  $("#dir-auto").addEventListener("click", direct("auto"));
  $("#dir-lock").addEventListener("click", direct("lock"));
  $("#dir-select").addEventListener("click", direct("select"));
  $("#mask-go").addEventListener("click", act(async () => {
    const mode = $("#mask-mode").value || null;
    snap = await api("POST", `${base}/mask`, { target: $("#mask-target").value, mode, reason: $("#mask-reason").value });
    render();
  }));
  $("#livestream").addEventListener("click", act(async () => {
    const on = !(snap && snap.public_live);
    snap = await api("POST", `${base}/livestream`, { on, reason: on ? "书记员开启" : "书记员切断直播" });
    render();
  }));
  $("#caucus-applicant").addEventListener("click", act(async () => { snap = await api("POST", `${base}/caucus`, { side: "applicant" }); render(); }));
  $("#caucus-respondent").addEventListener("click", act(async () => { snap = await api("POST", `${base}/caucus`, { side: "respondent" }); render(); }));
  $("#caucus-end").addEventListener("click", act(async () => { snap = await api("DELETE", `${base}/caucus`); render(); }));
  $("#unmute").addEventListener("click", () => { const v = $("#program-video"); v.muted = false; v.play(); $("#unmute").classList.add("hidden"); });
  $("#logout").addEventListener("click", async () => { await api("POST", "/api/logout").catch(() => {}); location.href = "/login"; });

  // -- go --------------------------------------------------------------------------------------------------

  (async () => {
    try { me = await api("GET", "/api/me"); } catch (e) { fail(e); return; }
    if (me.role === "arbitrator") document.querySelector("header h1").textContent = "仲裁员控制台";
    await refresh();
    await loadTranscript();
    loadEvidence();
    loadSettlement();
    stream(hid, onEvent);
    receiveProgram(hid, $("#program-video"), (text, kind) => {
      $("#program-state").textContent = text;
      $("#program").dataset.state = kind;
    }, () => snap && snap.host === "running");
    setInterval(refresh, 5000);
  })();
})();
