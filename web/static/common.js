/* Shared by the pages: the API, the timeline stream, receiving the program feed over WebRTC, and how
   things read for people: Chinese only (the API's English glosses and machine names stay in the API),
   times of day in the room's zone (Beijing time), hearing-relative times labelled as such. */
"use strict";

const Court = (() => {
  const ROLE_LABELS = {
    presiding_arbitrator: "首席仲裁员", arbitrator: "仲裁员", clerk: "书记员", applicant: "申请人",
    respondent: "被申请人", applicant_agent: "申请人代理人", respondent_agent: "被申请人代理人",
    third_party: "第三人", witness: "证人",
  };
  const PHASES = {
    opening: "开庭宣布", investigation: "庭审调查", evidence: "举证质证", debate: "辩论",
    final_statements: "最后陈述", mediation: "调解",
  };
  const STATES = {
    scheduled: "尚未开始", preparing: "庭前准备", in_session: "庭审中", recess: "休庭",
    closed: "已闭庭", signing: "已闭庭 · 笔录签署中", archived: "已归档",
  };
  /** The room's time zone: people read Beijing time. */
  const TIME_ZONE = "Asia/Shanghai";

  // -- errors, in Chinese ---------------------------------------------------------------------------

  function explain(status) {
    if (status === 0) return "网络连接失败，请检查网络后重试";
    if (status === 401) return "请先登录或使用邀请链接";
    if (status === 403) return "无权访问";
    if (status === 404) return "未找到";
    if (status === 409) return "当前状态下不能这样操作";
    if (status === 413) return "文件过大";
    if (status === 415) return "文件类型不允许";
    if (status === 422) return "填写的内容有误，请检查后重试";
    if (status === 429) return "操作过于频繁，请稍后再试";
    if (status >= 500) return "服务器出现问题，请稍后重试";
    return "操作失败，请重试";
  }

  const HAS_CJK = /[\u3400-\u9fff]/;
  /**
   * The API's message as people read it: its English gloss ("(not logged in)"), machine detail after a
   * colon ("…: body.x: Field required") and anything without Chinese are dropped; the raw message stays
   * in the API and the server's log.
   */
  function human(detail, status) {
    let text = String(detail || "");
    text = text.replace(/^[A-Za-z][\w.-]*:\s*/, "");                    // a device id or code in front
    text = text.replace(/\s*[(（][\x00-\x7f]*[)）]/g, "");            // English glosses in brackets
    text = text.replace(/\s*[:：]\s*(?=[\x00-\x7f]*[A-Za-z])[\x00-\x7f]*$/g, ""); // a machine tail after a colon
    text = text.replace(/\s*[:：]\s*[A-Za-z_][\w.]*:\s.*$/s, "");      // "…: body.x: msg" tails
    text = text.trim();
    if (!HAS_CJK.test(text)) return explain(status === undefined ? -1 : status);
    return text;
  }

  class ApiError extends Error {
    constructor(status, raw, code) {
      super(human(raw, status));
      this.status = status; this.detail = human(raw, status); this.raw = raw; this.code = code;
    }
  }

  /** fetch a JSON API; body: an object (sent as JSON) or FormData. Throws ApiError with the detail. */
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["content-type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "", "network");
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      const raw = data && typeof data.detail === "string" ? data.detail : "";
      throw new ApiError(response.status, raw, (data && data.code) || "");
    }
    return data;
  }

  function param(name) {
    return new URLSearchParams(location.search).get(name);
  }

  /** The ``hearing`` parameter as a hearing number, or null when it is not one. */
  function hearingParam() {
    const raw = param("hearing");
    return raw && /^\d{1,12}$/.test(raw) ? raw : null;
  }

  function $(sel, root) { return (root || document).querySelector(sel); }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  }

  function showError(target, err) {
    const box = typeof target === "string" ? $(target) : target;
    if (!box) return;
    if (!err) { box.textContent = ""; box.classList.add("hidden"); return; }
    box.textContent = err.detail || human(err.message, err.status);
    if (err.code) box.dataset.code = err.code;
    box.classList.remove("hidden");
  }

  // -- time: Beijing time of day; hearing-relative time labelled -----------------------------------

  const timeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const dateTimeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hour12: false,
  });
  let origin = null;   // ms since the epoch of hearing-clock zero

  /** Learn the hearing clock's zero from any timeline event (its ``wall`` and ``t``). */
  function learnOrigin(e) {
    if (origin !== null || !e || !e.wall || typeof e.t !== "number") return;
    const wall = Date.parse(e.wall);
    if (!isNaN(wall)) origin = wall - e.t * 1000;
  }
  function setOrigin(iso) { const ms = Date.parse(iso); if (!isNaN(ms)) origin = ms; }

  /** "14:03:15" (Beijing time) of a date, an ISO string or milliseconds. */
  function timeOfDay(when) {
    if (when === null || when === undefined || when === "") return "";
    const d = when instanceof Date ? when : new Date(when);
    return isNaN(d) ? "" : timeFormat.format(d);
  }
  function dateTime(when) {
    if (!when) return "";
    const d = when instanceof Date ? when : new Date(when);
    return isNaN(d) ? "" : dateTimeFormat.format(d).replace(/\//g, "-");
  }
  /** Beijing time of hearing-clock second ``t`` (empty until the clock's zero is known). */
  function atT(t) {
    if (origin === null || t === null || t === undefined || isNaN(t)) return "";
    return timeOfDay(origin + t * 1000);
  }

  /** A duration as "01:02:03" (for the hearing clock and countdowns; always labelled where shown). */
  function clock(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return (h ? `${two(h)}:` : "") + `${two(m)}:${two(r)}`;
  }

  function roleLabel(role, given) {
    return given || ROLE_LABELS[role] || "参与人";
  }

  // -- devices and timeline events as people read them ------------------------------------------------

  const SEATS = {
    presiding: "首席仲裁员席", "arbitrator-left": "仲裁员席（左）", "arbitrator-right": "仲裁员席（右）",
    clerk: "书记员席", applicant: "申请人席", "applicant-agent": "申请人代理人席", respondent: "被申请人席",
    "respondent-agent": "被申请人代理人席", witness: "证人席",
  };
  const CAMERAS = { bench: "仲裁员席", applicant: "申请人席", respondent: "被申请人席", wide: "全景" };
  const KINDS = { camera: "摄像机", microphone: "麦克风", face_terminal: "人脸核验终端", display: "大屏",
    speaker: "扬声器" };

  /** A device (or recording source) by what it is, never its id: "申请人席麦克风". */
  function deviceLabel(id, kind, participants) {
    const s = String(id || "");
    let m;
    if (s === "face-terminal") return "门口人脸核验终端";
    if (s === "display") return "大屏";
    if (s === "speaker") return "扬声器";
    if (s === "program") return "导播画面";
    if ((m = /^remote-(\d+)(-cam)?$/.exec(s))) {
      const p = (participants || []).find((x) => String(x.id) === m[1]);
      return `${p ? `${p.role_label} ${p.name}` : "远程当事人"}的${m[2] ? "摄像头" : "麦克风"}`;
    }
    if ((m = /^mic-(.+)$/.exec(s))) return `${SEATS[m[1]] || seatOf(m[1], participants)}麦克风`;
    if ((m = /^cam-(.+)$/.exec(s))) return `${CAMERAS[m[1]] || SEATS[m[1]] || "其他"}机位`;
    return KINDS[kind] || "其他设备";
  }
  function seatOf(seat, participants) {
    const p = (participants || []).find((x) => x.seat === seat);
    return p ? `${p.role_label}席` : "其他席位";
  }
  function cameraLabel(id) { return deviceLabel(id, "camera"); }

  const SHOWN = { scene: "庭审信息", rules: "庭审纪律", phase: "庭审阶段", evidence: "证据", closed: "闭庭信息" };

  /**
   * A timeline event as one line of the hearing's log, in Chinese; null for what people need not read
   * (segments, device internals). ``participants`` names the devices.
   */
  function describe(e, participants) {
    const who = e.name ? `${e.role_label || roleLabel(e.role)} ${e.name}` : "";
    switch (e.type) {
      case "startup.requested": return "一键启动";
      case "startup.retried": return "重新一键启动";
      case "startup.completed": return "启动完成，准备就绪";
      case "startup.failed": return `启动失败：${human(e.reason)}`;
      case "hearing.preparing": return "庭前准备";
      case "hearing.opened": return "开庭";
      case "hearing.phase": return `进入${PHASES[e.phase] || "下一阶段"}`;
      case "hearing.recessed": return `休庭${e.reason ? "：" + human(e.reason) : ""}`;
      case "hearing.resumed": return "继续开庭";
      case "hearing.closed": return "闭庭";
      case "hearing.signing": return "笔录送当事人签署";
      case "hearing.archived": return "归档";
      case "remote.lobby": return `${who} 通过远程人脸核验，在等候室`;
      case "remote.admitted": return `${who} 准许入庭`;
      case "remote.rejected": return e.removed ? `${who} 被书记员请出庭审${e.reason ? "：" + human(e.reason) : ""}` : `${who} 未准许入庭`;
      case "remote.connected": return `${who} 已接入庭审`;
      case "remote.disconnected": return `${who} 已离开庭审${e.reason ? "（" + human(e.reason) + "）" : ""}`;
      case "remote.media": return `${who} ${e.muted ? "关闭了麦克风" : "打开了麦克风"}，${e.camera_off ? "关闭了摄像头" : "打开了摄像头"}`;
      case "attendance.present": return `${who} 到庭（${presentHow(e)}）`;
      case "attendance.absent": return `${who} 未到庭`;
      case "attendance.checked": return "到庭核验结束";
      case "attendance.door_open": return "门口人脸核验开始";
      case "attendance.door_closed": return "书记员结束到庭核验";
      case "attendance.door_unavailable": return "门口人脸核验不可用，由书记员当面确认";
      case "attendance.remote_check": return `${who} 远程人脸核验${e.match === true && e.live !== false ? "通过" : "未通过"}`;
      case "attendance.unknown_face": return "门口出现未登记人员，未予放行";
      case "attendance.undecided": return `门口人脸核验无法确定${e.candidate ? "：" + e.candidate : ""}，请当面核对`;
      case "attendance.liveness_failed": return `门口活体检测未通过${e.candidate ? "：" + e.candidate : ""}`;
      case "attendance.not_enrolled": return `${e.participant || "有人"} 未登记证件照，请当面核对`;
      case "attendance.terminal_fault": return "门口人脸核验终端故障";
      case "rules.started": return "开始播放庭审纪律";
      case "rules.played": return "庭审纪律播放完毕";
      case "evidence.submitted": return `提交证据：${e.title || ""}`;
      case "evidence.presented": return `展示证据：${e.title || ""}`;
      case "settlement.drafted": return `调解协议第 ${e.version} 版已提交`;
      case "settlement.signed": return `${who} 签署调解协议第 ${e.version} 版`;
      case "settlement.sign_refused": return `${who} 不同意调解协议`;
      case "settlement.concluded": return `调解协议第 ${e.version} 版各方签署完毕，协议达成`;
      case "caucus.started": return "背靠背调解开始";
      case "caucus.ended": return "背靠背调解结束";
      case "livestream.started": return "公开直播开启";
      case "livestream.stopped": return "公开直播切断";
      case "device.fault": return `设备故障：${deviceLabel(e.device, e.kind, participants)}${e.detail ? "，" + human(e.detail) : ""}`;
      case "display.shown": return `大屏显示${SHOWN[e.what] || "内容"}`;
      case "display.fault": return "大屏显示故障";
      case "recording.started":
        return /^remote-/.test(e.source || "") ? `开始录制${deviceLabel(e.source, "", participants)}` : "同步录音录像开始";
      case "recording.stopped": return "录音录像停止";
      case "recording.interrupted": return `录音录像中断：${deviceLabel(e.source, "", participants)}`;
      case "recording.resumed": return `录音录像恢复：${deviceLabel(e.source, "", participants)}`;
      case "bilu.locked": return `笔录第 ${e.version} 版已锁定，送签署`;
      case "bilu.superseded": return `笔录第 ${e.version} 版已更正，须重新送签`;
      case "bilu.signed": return `${e.signer || "当事人"} 已在笔录上签名`;
      case "bilu.sign_refused": return `${e.signer || "当事人"} 拒绝在笔录上签名`;
      case "correction.requested": return `${e.requested_by || "当事人"} 申请更正笔录`;
      case "correction.decided": return e.decision === "accepted" ? "准予更正笔录" : "不予更正笔录";
      case "camera.mode": return "导播方式变更";
      case "program.mask": return e.mode ? "画面遮蔽" : "取消画面遮蔽";
      case "process.claimed":
        return e.previous_room && e.previous_room !== e.room
          ? `庭审由「${e.previous_room}」转至「${e.room}」接续` : `庭审由「${e.room}」主持`;
      default: return null;
    }
  }
  function presentHow(e) {
    if (e.method === "face") return /远程/.test(e.note || "") ? "远程人脸核验" : "门口人脸核验";
    return "书记员当面确认";
  }

  /** What each page says about the hearing's state (``snap`` from GET /api/hearings/{id}). */
  function stateText(s) {
    if (!s) return "";
    const phase = s.phase_label ? ` · ${s.phase_label}` : "";
    switch (s.state) {
      case "scheduled": return s.host === "starting" ? "庭审尚未开始 · 正在一键启动" : "庭审尚未开始";
      case "preparing": return s.host === "running" ? "庭前准备 · 等待开庭" : "庭前准备 · 正在一键启动";
      case "in_session": return `庭审进行中${phase}`;
      case "recess": return "休庭中";
      case "closed": return "已闭庭";
      case "signing": return "已闭庭 · 笔录签署中";
      case "archived": return "已闭庭 · 笔录已归档";
      default: return STATES[s.state] || "";
    }
  }
  function live(s) { return !!s && s.host === "running" && ["preparing", "in_session", "recess"].includes(s.state); }
  function ended(s) { return !!s && ["closed", "signing", "archived"].includes(s.state); }

  // -- the timeline --------------------------------------------------------------------------------

  /** The hearing's timeline as it is written: onEvent(event) for each (`timeline` SSE events). */
  function stream(hearingId, onEvent, onState) {
    const source = new EventSource(`/api/hearings/${hearingId}/events/stream`, { withCredentials: true });
    source.addEventListener("timeline", (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch (err) { return; }
      learnOrigin(e);
      onEvent(e);
    });
    source.onopen = () => onState && onState("open");
    source.onerror = () => onState && onState(source.readyState === EventSource.CLOSED ? "closed" : "retrying");
    return source;
  }

  function iceComplete(pc, timeoutMs = 3000) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(done, timeoutMs);
    });
  }

  /** Offer/answer with the server (no trickle ICE: the offer carries its candidates). */
  async function negotiate(pc, hearingId) {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await iceComplete(pc);
    const answer = await api("POST", `/api/hearings/${hearingId}/rtc`,
      { sdp: pc.localDescription.sdp, type: pc.localDescription.type });
    await pc.setRemoteDescription(answer);
    return pc;
  }

  /** Attach a track to a <video> (video and audio share one MediaStream). */
  function attach(video, event) {
    if (!video.srcObject) video.srcObject = new MediaStream();
    video.srcObject.addTrack(event.track);
    const p = video.play();
    if (p && p.catch) p.catch(() => {
      video.muted = true;  // autoplay with sound refused: play muted, offer a button to unmute
      video.play().catch(() => {});
      const b = document.getElementById("unmute");
      if (b) b.classList.remove("hidden");
    });
  }

  /** A live transcript event into ``box``: a new line, or a correction of one. True when handled. */
  function transcriptEvent(box, e) {
    if (e.type === "utterance") {
      if (box.querySelector(`[data-id="u${e.seq}"]`)) return true;
      box.append(el("div", { class: "line", "data-id": `u${e.seq}`, "data-role": e.role },
        el("span", { class: "when", text: atT(e.start), title: `庭审计时 ${clock(e.start)}` }),
        el("span", { class: "who", text: roleLabel(e.role, e.role_label) }),
        el("span", { class: "text", text: e.text })));
      box.scrollTop = box.scrollHeight;
      return true;
    }
    if (e.type === "utterance.corrected" && e.line) {
      const line = box.querySelector(`[data-id="${CSS.escape(e.line)}"] .text`);
      if (line && e.after) line.textContent = e.after;
      return true;
    }
    return false;
  }

  const PICTURE = /\.(jpe?g|jpe|png|gif|webp)$/i;

  /**
   * The evidence the clerk puts on screen, into #presented-title / #presented-body; the latest one
   * wins (the event stream replays the past at once). ``onShown`` reveals the panel.
   */
  function presenter(onShown) {
    let timer = null;
    return (e) => {
      clearTimeout(timer);
      timer = setTimeout(() => { if (renderPresented(e)) onShown(); }, 150);
    };
  }

  function renderPresented(e) {
    if (!e.evidence_id) return false;
    const url = `/api/evidence/${encodeURIComponent(e.evidence_id)}/file`;
    const picture = PICTURE.test(e.filename || "");
    document.getElementById("presented-title").textContent = e.title || "证据";
    const body = document.getElementById("presented-body");
    body.textContent = "";
    body.dataset.evidence = e.evidence_id;
    if (picture) {
      const img = el("img", { src: url, alt: e.title || "证据", "data-testid": "presented-image",
        style: "max-width:100%;max-height:55vh;display:block;margin:0 auto;border-radius:6px" });
      img.addEventListener("error", () => {
        img.replaceWith(el("p", { class: "muted", text: "图片无法显示，请点击下方链接查看。" }));
      });
      body.append(img);
    }
    body.append(el("p", {},
      el("a", { href: url, target: "_blank", rel: "noopener", "data-testid": "presented-link",
        text: picture ? "查看原图" : "打开证据文件" })));
    return true;
  }

  /** The ICE servers the court configured (STUN/TURN for parties outside its network); the TURN
   * credential in it is time-limited, so it is asked for again after ten minutes. */
  let rtcConfig = null, rtcConfigAt = 0;
  async function peerConfig() {
    if (!rtcConfig || Date.now() - rtcConfigAt > 600000) {
      try { rtcConfig = await api("GET", "/api/rtc-config"); rtcConfigAt = Date.now(); }
      catch (e) { rtcConfig = rtcConfig || { iceServers: [] }; }
    }
    return rtcConfig;
  }

  /**
   * Receive the program feed and the hearing's sound (viewers, the clerk) while ``keep()`` says the
   * hearing runs: nothing is asked of the server before; when it stops, the picture goes and
   * ``idle()`` says why. onState(text, kind) reports the connection.
   */
  function receiveProgram(hearingId, video, onState, keep = () => true, idle = () => "庭审尚未开始，开始后自动连接") {
    let pc = null, stopped = false, timer = null, connecting = false;
    function drop() {
      if (pc) { try { pc.close(); } catch (e) {} pc = null; }
      video.srcObject = null;
    }
    async function connect() {
      if (stopped || connecting) return;
      connecting = true;
      drop();
      const peer = new RTCPeerConnection(await peerConfig());
      pc = peer;
      peer.addTransceiver("video", { direction: "recvonly" });
      peer.addTransceiver("audio", { direction: "recvonly" });
      peer.ontrack = (e) => attach(video, e);
      peer.onconnectionstatechange = () => {
        if (peer !== pc) return;
        const s = peer.connectionState;
        if (s === "connected") onState("画面已连接", "ok");
        else if (s === "failed" || s === "disconnected") { drop(); onState("连接中断，正在重新连接…", "bad"); }
      };
      onState("正在连接…", "warn");
      try {
        await negotiate(peer, hearingId);
      } catch (e) {
        if (peer === pc) drop();
        onState(e.code === "not_running" ? idle() : e.detail, "warn");
      } finally {
        connecting = false;
      }
    }
    function tick() {
      if (stopped) return;
      if (!keep()) {
        if (pc) drop();
        onState(idle(), "idle");
      } else if (!pc && !connecting) connect();
    }
    timer = setInterval(tick, 2000);
    tick();
    return {
      get pc() { return pc; },
      check: tick,
      stop() { stopped = true; clearInterval(timer); drop(); },
    };
  }

  return { api, ApiError, human, param, hearingParam, $, el, showError, clock, timeOfDay, dateTime, atT,
           learnOrigin, setOrigin, roleLabel, deviceLabel, cameraLabel, describe, stateText, live, ended,
           stream, negotiate, attach, receiveProgram, peerConfig, transcriptEvent, presenter, ROLE_LABELS,
           PHASES, STATES, TIME_ZONE };
})();
