/* The console's people and devices: attendance (one state per person, the door check with who is still
   expected and the time left, the clerk's confirmation in person), the remote parties (lobby, admit,
   their microphone and camera), invitations, and the devices as a summary with faults first. */
"use strict";
(() => {
  const C = Console;
  const { api, $, el, showError, timeOfDay } = Court;

  // -- attendance and the door check -------------------------------------------------------------------

  let doorDeadline = null;     // ms: when the running door check ends by itself
  let confirming = null;       // participant id whose reason form is open
  let justOpened = false;
  const reasons = new Map();   // participant id -> the reason typed so far

  function confirmForm(p) {
    const input = el("input", { type: "text", class: "grow", value: reasons.get(p.participant_id) || "当面核对身份证件",
      "aria-label": `当面确认${p.name}到庭的理由`, "data-testid": `confirm-reason-${p.participant_id}`,
      oninput: () => reasons.set(p.participant_id, input.value) });
    const form = el("form", { class: "row confirm-form", "data-confirm-form": p.participant_id },
      input,
      el("button", { type: "submit", class: "primary", "data-testid": `confirm-yes-${p.participant_id}` }, "确认到庭"),
      el("button", { type: "button", onclick: () => { confirming = null; C.render(); } }, "取消"));
    form.addEventListener("submit", C.act(async (ev) => {
      ev.preventDefault();
      const reason = input.value.trim();
      if (!reason) { showError("#error", { detail: "请写明当面确认的理由。" }); return; }
      await api("POST", `${C.base}/attendance`, { participant_id: p.participant_id, reason });
      confirming = null;
      reasons.delete(p.participant_id);
      await C.refresh();
    }));
    if (justOpened) { justOpened = false; setTimeout(() => input.focus(), 0); }
    return form;
  }

  function confirmButton(p) {
    if (confirming === p.participant_id) return confirmForm(p);
    return el("button", { type: "button", class: "small", "data-confirm": p.participant_id,
      "data-testid": `confirm-${p.participant_id}`,
      onclick: () => { confirming = p.participant_id; justOpened = true; C.render(); } }, "当面确认到庭");
  }

  function renderDoor(s) {
    const box = $("#door-check");
    const door = s.door;
    box.textContent = "";
    box.classList.toggle("hidden", !door);
    if (!door) { doorDeadline = null; return; }
    doorDeadline = Date.now() + door.remaining * 1000;
    const left = el("strong", { id: "door-left", "data-testid": "door-left" });
    box.append(el("div", { class: "notice door" },
      el("div", { class: "row" },
        el("span", { class: "grow" }, "门口人脸核验进行中，剩余 ", left),
        el("button", { type: "button", id: "door-close", "data-testid": "door-close", class: "small",
          onclick: C.act(async () => { await api("POST", `${C.base}/attendance/close`); await C.refresh(); }) },
          "结束到庭核验")),
      el("p", { class: "muted", text: "只核验在庭内参加的当事人；远程当事人通过手机人脸核验后由您准许入庭。录音录像已在进行。" })));
    const waiting = el("ul", { class: "plain compact", "data-testid": "door-expected" });
    for (const p of door.expected) {
      waiting.append(el("li", { "data-participant": p.participant_id, class: "row" },
        el("span", { class: "grow", text: `${p.role_label} ${p.name}` }), confirmButton(p)));
    }
    if (!door.expected.length) waiting.append(el("li", { class: "muted", text: "应到人员均已核验" }));
    box.append(el("p", { class: "label", text: "仍在等候：" }), waiting);
    if (door.passed.length) {
      box.append(el("p", { class: "muted", text: "已核验：" + door.passed.map((p) =>
        `${p.role_label} ${p.name}（${p.method === "face" ? "人脸核验" : "当面确认"}）`).join("；") }));
    }
    tickDoor();
  }

  function tickDoor() {
    const left = $("#door-left");
    if (left && doorDeadline !== null) left.textContent = Court.clock((doorDeadline - Date.now()) / 1000);
  }
  setInterval(tickDoor, 1000);

  function renderAttendance(s) {
    const ul = $("#attendance");
    ul.textContent = "";
    const rows = s.attendance || [];
    if (!rows.length) { ul.append(el("li", { class: "muted", text: "本案没有需核验到庭的当事人" })); return; }
    const awaited = new Set(((s.door && s.door.expected) || []).map((p) => p.participant_id));
    const canConfirm = !Court.ended(s) && (s.host === "starting" || s.host === "running");
    for (const a of rows) {
      const badge = { present: "ok", absent: "bad", expected: "warn" }[a.status];
      let how = a.status === "present" ? a.method_label : a.status === "absent" ? "未到庭" : (a.remote ? "远程参加，待接入" : "待核验");
      if (a.status === "present" && a.arrived_at) how += ` · ${timeOfDay(a.arrived_at)}`;
      if (a.late) how += " · 核验结束后到庭";
      if (a.reason) how += ` · ${a.status === "present" ? "理由：" : ""}${a.reason}`;
      const li = el("li", { "data-participant": a.participant_id, "data-status": a.status, "data-method": a.method },
        el("div", { class: "row" },
          el("span", { class: `badge ${badge}`, text: a.status_label }),
          el("span", { class: "grow", text: `${a.role_label} ${a.name}${a.remote ? "（远程）" : ""}` })),
        el("div", { class: "muted small", text: how }));
      if (a.status !== "present" && canConfirm && !a.remote && !awaited.has(a.participant_id)) {
        li.append(confirmButton(a));
      } else if (a.status !== "present" && a.remote && canConfirm) {
        li.append(el("div", { class: "muted small", text: "远程当事人经人脸核验后，在“远程当事人”中准许入庭" }));
      }
      ul.append(li);
    }
  }

  // -- remote parties -----------------------------------------------------------------------------------

  const media = new Map();     // participant id -> {muted, camera_off}
  let rejecting = null;

  function renderLobby(s) {
    const ul = $("#lobby");
    ul.textContent = "";
    const remotes = s.remotes || [];
    if (!remotes.length) {
      ul.append(el("li", { class: "muted", text: "暂无远程当事人接入。通过人脸核验的当事人会出现在这里。" }));
      return;
    }
    const ended = Court.ended(s);
    for (const r of remotes) {
      const m = media.get(r.participant_id);
      const state = ended ? "已闭庭" : r.state_label;
      const kind = r.state === "connected" ? "ok" : r.state === "rejected" || r.state === "left" ? "bad" : "warn";
      const li = el("li", { "data-participant": r.participant_id, "data-state": r.state },
        el("div", { class: "row" },
          el("strong", { class: "grow", text: `${r.role_label} ${r.name}` }),
          el("span", { class: `badge ${kind}`, text: state })),
        el("div", { class: "muted small" },
          r.similarity === null || r.similarity === undefined ? "" : `人脸相似度 ${Number(r.similarity).toFixed(2)}`,
          m && r.state === "connected" ? el("span", { class: `badge ${m.muted ? "bad" : "ok"}`, "data-testid": `muted-${r.participant_id}`,
            text: m.muted ? "已静音" : "麦克风开" }) : null,
          m && r.state === "connected" && m.camera_off ? el("span", { class: "badge bad", text: "摄像头关" }) : null));
      if (!ended) {
        const tools = el("div", { class: "row" },
          r.state === "lobby" || r.state === "rejected"
            ? el("button", { type: "button", class: "primary admit small", "data-testid": `admit-${r.participant_id}`,
              onclick: C.act(async () => { await api("POST", `${C.base}/remote/${r.participant_id}/admit`); await C.refresh(); }) }, "准许入庭")
            : null,
          r.state === "lobby"
            ? el("button", { type: "button", class: "danger reject small",
              onclick: () => { rejecting = r.participant_id; C.render(); } }, "不准入庭")
            : null,
          r.state === "admitted" || r.state === "connected" || r.state === "left"
            ? el("button", { type: "button", class: "danger remove small", "data-testid": `remove-${r.participant_id}`,
              onclick: () => { rejecting = r.participant_id; C.render(); } }, "请出庭审")
            : null);
        li.append(tools);
        if (rejecting === r.participant_id) li.append(rejectForm(r));
      }
      ul.append(li);
    }
  }

  function rejectForm(r) {
    const inHearing = r.state !== "lobby";
    const input = el("input", { type: "text", class: "grow", value: inHearing ? "扰乱庭审秩序" : "身份核验存疑",
      "aria-label": inHearing ? "请出庭审的理由" : "不准入庭的理由", "data-testid": `reason-${r.participant_id}` });
    const form = el("form", { class: "row" }, input,
      el("button", { type: "submit", class: "danger small", "data-testid": `reject-yes-${r.participant_id}` },
        inHearing ? "确认请出庭审" : "确认不准入庭"),
      el("button", { type: "button", class: "small", onclick: () => { rejecting = null; C.render(); } }, "取消"));
    form.addEventListener("submit", C.act(async (ev) => {
      ev.preventDefault();
      await api("POST", `${C.base}/remote/${r.participant_id}/reject`, { reason: input.value.trim() || "未准许入庭" });
      rejecting = null;
      await C.refresh();
    }));
    return form;
  }

  function renderInvites(s) {
    const ul = $("#invite-list");
    const parties = (s.participants || []).filter((p) => !["presiding_arbitrator", "arbitrator", "clerk"].includes(p.role));
    const key = JSON.stringify(parties.map((p) => p.id));
    if (ul.dataset.key === key) return;
    ul.dataset.key = key;
    ul.textContent = "";
    for (const p of parties) {
      ul.append(el("li", { "data-participant": p.id, class: "row" },
        el("span", { class: "grow", text: `${p.role_label} ${p.name}${p.remote ? "（远程）" : ""}` }),
        el("button", { type: "button", class: "invite small", "data-testid": `invite-${p.id}`,
          onclick: C.act(async () => {
            const live = ((C.snap && C.snap.remotes) || []).find((r) => r.participant_id === p.id && r.state !== "rejected");
            if (live && !confirm(`重新生成邀请会使${p.name}原来的邀请码和登录失效，确定？`)) return;
            const inv = await api("POST", `${C.base}/invitations`, { participant_id: p.id });
            const box = $("#invitation");
            box.textContent = "";
            box.append(`邀请码（发给${p.name}）：`, el("span", { class: "code", id: "invitation-code", text: inv.code }),
              el("br"), "链接：", el("a", { href: inv.url, id: "invitation-url", target: "_blank", text: inv.url }),
              el("br"), el("span", { class: "muted", text: `有效期至 ${Court.dateTime(inv.expires_at)}（北京时间）` }));
            box.classList.remove("hidden");
          }) }, "生成邀请")));
    }
  }

  // -- devices: a summary, faults first ----------------------------------------------------------------

  const devices = new Map();   // id -> {ready, detail, kind}

  function renderDevices(s) {
    for (const f of s.devices || []) {
      const prior = devices.get(f.source) || {};
      if (f.fault) devices.set(f.source, { ready: false, detail: f.fault, kind: prior.kind });
      else if (prior.ready === false && prior.recording) devices.set(f.source, { ...prior, ready: true, detail: "" });
    }
    if (!devices.size) return;
    const people = C.participants();
    const all = [...devices.entries()].map(([id, d]) => ({ id, ...d, label: Court.deviceLabel(id, d.kind, people) }));
    all.sort((a, b) => (a.ready - b.ready) || a.label.localeCompare(b.label, "zh-CN"));
    const faults = all.filter((d) => !d.ready);
    const summary = $("#devices-summary");
    summary.className = faults.length ? "bad" : "ok";
    summary.textContent = faults.length
      ? `${all.length} 台设备，${faults.length} 台故障：${faults.map((d) => d.label).join("、")}`
      : `${all.length} 台设备，全部正常`;
    const ul = $("#devices");
    ul.textContent = "";
    for (const d of all) {
      ul.append(el("li", { "data-ready": d.ready ? "1" : "0" },
        el("span", { class: `badge ${d.ready ? "ok" : "bad"}`, text: d.ready ? "正常" : "故障" }), " ",
        el("span", { text: d.label }),
        d.detail ? el("span", { class: "muted small", text: `　${Court.human(d.detail)}` }) : null));
    }
    if (faults.length) $("#devices-details").open = true;
  }

  /** Whether the clerk is typing inside ``card`` (a re-render would take the text and the focus). */
  function typingIn(card) {
    const a = document.activeElement;
    return !!a && a.tagName === "INPUT" && $(card).contains(a);
  }

  C.on("render", (s) => {
    if (!typingIn("#attendance-card")) {
      renderDoor(s);
      renderAttendance(s);
    }
    if (!typingIn("#lobby")) renderLobby(s);
    renderInvites(s);
    renderDevices(s);
  });
  C.on("event", (e) => {
    if (e.type === "device.checked" || e.type === "device.fault") {
      devices.set(e.device, { ready: e.type === "device.checked", detail: e.ready ? "" : (e.detail || ""), kind: e.kind });
      C.soon(C.render, 200);
    } else if (e.type === "recording.interrupted" && e.source) {
      const prior = devices.get(e.source) || {};
      devices.set(e.source, { ...prior, ready: false, detail: e.reason || prior.detail || "", recording: true });
      C.soon(C.render, 200);
    } else if (e.type === "recording.resumed" && e.source) {
      const prior = devices.get(e.source) || {};
      devices.set(e.source, { ...prior, ready: true, detail: "", recording: true });
      C.soon(C.render, 200);
    } else if (e.type === "remote.media") {
      media.set(e.participant_id, { muted: !!e.muted, camera_off: !!e.camera_off });
      C.soon(C.render, 100);
    }
  });
})();
