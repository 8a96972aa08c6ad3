/* Shared by the pages: the API, the timeline stream, receiving the program feed over WebRTC. */
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

  class ApiError extends Error {
    constructor(status, detail, code) {
      super(detail);
      this.status = status; this.detail = detail; this.code = code;
    }
  }

  function explain(status) {
    if (status === 401) return "请先登录或使用邀请链接 (not logged in)";
    if (status === 403) return "无权访问 (forbidden)";
    if (status === 404) return "未找到 (not found)";
    if (status === 413) return "文件过大 (too large)";
    if (status === 415) return "文件类型不允许 (type not allowed)";
    return `请求失败 (HTTP ${status})`;
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
      throw new ApiError(0, "网络连接失败，请检查网络后重试 (network error)", "network");
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      const detail = data && data.detail
        ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail))
        : explain(response.status);
      throw new ApiError(response.status, detail, (data && data.code) || "");
    }
    return data;
  }

  function param(name) {
    return new URLSearchParams(location.search).get(name);
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
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function showError(target, err) {
    const box = typeof target === "string" ? $(target) : target;
    if (!box) return;
    if (!err) { box.textContent = ""; box.classList.add("hidden"); return; }
    box.textContent = err.detail || err.message || String(err);
    box.classList.remove("hidden");
  }

  function clock(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return (h ? `${h}:` : "") + `${two(m)}:${two(r)}`;
  }

  function roleLabel(role, given) {
    return given || ROLE_LABELS[role] || role || "未知";
  }

  /** The hearing's timeline as it is written: onEvent(event) for each (`timeline` SSE events). */
  function stream(hearingId, onEvent, onState) {
    const source = new EventSource(`/api/hearings/${hearingId}/events/stream`, { withCredentials: true });
    source.addEventListener("timeline", (m) => {
      try { onEvent(JSON.parse(m.data)); } catch (e) { console.error(e); }
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

  /**
   * Receive the program feed and the hearing's sound (viewers, the clerk): keeps reconnecting with a
   * new offer while `keep()` says so. onState(text, kind) reports the connection.
   */
  /** A live transcript event into ``box``: a new line, or a correction of one. True when handled. */
  function transcriptEvent(box, e) {
    if (e.type === "utterance") {
      if (box.querySelector(`[data-id="u${e.seq}"]`)) return true;
      box.append(el("div", { class: "line", "data-id": `u${e.seq}`, "data-role": e.role },
        el("span", { class: "who", text: roleLabel(e.role, e.role_label) }),
        el("div", { class: "text", text: e.text }),
        el("span", { class: "when", text: clock(e.start) })));
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
    document.getElementById("presented-title").textContent = e.title || e.filename || "证据";
    const body = document.getElementById("presented-body");
    body.textContent = "";
    body.dataset.evidence = e.evidence_id;
    if (picture) {
      const img = el("img", { src: url, alt: e.title || e.filename || "证据", "data-testid": "presented-image",
        style: "max-width:100%;max-height:55vh;display:block;margin:0 auto;border-radius:6px" });
      img.addEventListener("error", () => {
        img.replaceWith(el("p", { class: "muted", text: "图片无法显示，请点击下方链接查看。" }));
      });
      body.append(img);
    }
    body.append(el("p", {},
      el("a", { href: url, target: "_blank", rel: "noopener", "data-testid": "presented-link",
        text: picture ? "查看原图" : `打开证据文件 ${e.filename || ""}` })));
    return true;
  }

  /** The ICE servers the court configured (STUN/TURN for parties outside its network), fetched once. */
  let rtcConfig = null;
  async function peerConfig() {
    if (!rtcConfig) {
      try { rtcConfig = await api("GET", "/api/rtc-config"); } catch (e) { rtcConfig = { iceServers: [] }; }
    }
    return rtcConfig;
  }

  function receiveProgram(hearingId, video, onState, keep = () => true) {
    let pc = null, stopped = false, timer = null;
    async function connect() {
      if (stopped) return;
      if (pc) { try { pc.close(); } catch (e) {} }
      video.srcObject = null;
      pc = new RTCPeerConnection(await peerConfig());
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.ontrack = (e) => attach(video, e);
      pc.onconnectionstatechange = () => {
        const s = pc.connectionState;
        if (s === "connected") onState("已连接", "ok");
        else if (s === "failed" || s === "disconnected") {
          onState("连接中断，正在重新连接…", "bad");
          retry(2000);
        }
      };
      onState("正在连接…", "warn");
      try {
        await negotiate(pc, hearingId);
      } catch (e) {
        onState(e.code === "not_running" ? "庭审尚未开始，开始后自动连接" : (e.detail || e.message), "warn");
        retry(e.code === "not_running" ? 3000 : 5000);
      }
    }
    function retry(ms) {
      if (stopped || timer) return;
      timer = setTimeout(() => { timer = null; if (keep()) connect(); else retry(ms); }, ms);
    }
    connect();
    return {
      get pc() { return pc; },
      reconnect: connect,
      stop() { stopped = true; if (pc) pc.close(); },
    };
  }

  return { api, ApiError, param, $, el, showError, clock, roleLabel, stream, negotiate, attach,
           receiveProgram, peerConfig, transcriptEvent, presenter, ROLE_LABELS, PHASES };
})();
