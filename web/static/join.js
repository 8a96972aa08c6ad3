/* A party joining from a phone or PC: the invitation code, camera and microphone, the face check, the
   lobby, then the hearing over WebRTC (their camera and microphone in, the program and the sound out)
   with their own picture, mute, camera off and leave. After the close the page opens on the 笔录 to
   sign (join_record.js: the 笔录, correction requests, evidence, the settlement). */
"use strict";
const Party = (() => {
  const { api, $, showError, roleLabel, stream, negotiate, attach, stateText } = Court;
  const P = { me: null, hid: null, snap: null, local: null, hooks: { event: [], entered: [], state: [] } };
  let pc = null;
  let connecting = false;
  let reconnectTimer = null;
  let left = false;            // the party chose to leave (no reconnecting)
  let muted = false;
  let cameraOff = false;
  let afterFace = null;        // what a passed face check leads to (the lobby, or signing)

  const show = (id, on = true) => $(id).classList.toggle("hidden", !on);
  P.show = show;
  P.on = (kind, fn) => P.hooks[kind].push(fn);

  // -- 1. the invitation ------------------------------------------------------------------------------

  async function join(code) {
    showError("#join-error", null);
    $("#join-btn").disabled = true;
    try {
      P.me = await api("POST", "/api/join", { code });
      P.hid = P.me.hearing_id;
      history.replaceState(null, "", `/join?hearing=${P.hid}`);
      await entered();
    } catch (e) {
      showError("#join-error", e.status === 401 || e.code
        ? { detail: `${e.detail}。请核对邀请码，或联系书记员重新发送邀请。` } : e);
      show("#step-code");
    } finally {
      $("#join-btn").disabled = false;
    }
  }

  async function entered() {
    show("#step-code", false);
    try {
      P.snap = await api("GET", `/api/hearings/${P.hid}`);
    } catch (e) {
      if (e.status === 403) { refuse(e); return; }
      throw e;
    }
    $("#case").textContent = P.snap.case_number;
    $("#welcome").textContent = `${P.me.name}，您好。您将以${roleLabel(partyRole())}身份参加 ${P.snap.case_number}（${P.snap.cause}）的庭审。`;
    renderState();
    stream(P.hid, onEvent);
    if (Court.ended(P.snap)) {
      // Back after the close: the 笔录 to sign first; no camera unless signing asks for a face check.
      hearingEnded();
    } else {
      const mine = myRemote();
      if (mine && ["lobby", "admitted", "connected", "left"].includes(mine.state)) {
        await startMedia(false);   // back after a reload: the face check was passed already
        lobby();
      } else {
        afterFace = lobby;
        show("#step-media");
        await startMedia(true);
      }
      show("#step-transcript");
      for (const fn of P.hooks.entered) await fn(false);
    }
    setInterval(poll, 3000);
  }

  function refuse(e) {
    show("#step-code", false);
    showError("#error", { detail: `${e.detail}。您只能进入邀请您参加的庭审。` });
    document.body.dataset.refused = "1";
  }

  function partyRole() {
    const p = (P.snap.participants || []).find((x) => x.id === P.me.participant_id);
    return p ? p.role : "";
  }
  function myRemote() {
    return ((P.snap && P.snap.remotes) || []).find((r) => r.participant_id === P.me.participant_id) || null;
  }

  function renderState() {
    const s = P.snap;
    $("#state").textContent = Court.STATES[s.state] || "";
    $("#state").dataset.state = s.state;
    $("#status").dataset.state = s.state;
    $("#status").textContent = statusText(s);
    if (pc && pc.connectionState === "connected") setConn(`已接入 · ${stateText(s)}`, "ok");
    for (const fn of P.hooks.state) fn(s);
  }

  function statusText(s) {
    const base = stateText(s);
    if (Court.ended(s)) return `${base}。请核对下方笔录并签名。`;
    const r = myRemote();
    if (left) return `${base} · 您已离开庭审`;
    if (!r) return `${base} · 请先核验身份`;
    if (r.state === "lobby") return `${base} · 您在等候室，等待书记员准许入庭`;
    if (r.state === "rejected") return r.removed ? `${base} · 书记员已将您请出庭审` : `${base} · 书记员未准许您入庭`;
    if (s.state === "recess") return "休庭中，恢复后自动继续";
    if (s.host !== "running") return `${base} · 已准许入庭，庭审开始后自动接入`;
    if (pc && pc.connectionState === "connected") return `${base} · 您已接入庭审`;
    return `${base} · 正在接入庭审`;
  }

  // -- 2. camera and microphone -------------------------------------------------------------------------

  function mediaMessage(err) {
    const name = err && err.name;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return "当前浏览器无法使用摄像头和麦克风（需要通过 https 安全连接打开本页面，并使用较新版本的浏览器，如微信、Chrome、Safari）。";
    }
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return "无法使用摄像头和麦克风：您没有允许本网站使用它们。请点击地址栏左侧的锁形图标（或打开浏览器“设置 → 网站设置 → 摄像头/麦克风”），"
        + "将本网站设为“允许”，然后点击下方的“重试”。在微信中打开时，请点右上角“…”选择“在浏览器打开”。";
    }
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
      return "没有找到可用的摄像头或麦克风。请确认设备已连接，然后点击“重试”。";
    }
    if (name === "NotReadableError" || name === "TrackStartError") {
      return "摄像头或麦克风正被其他应用占用。请关闭其他正在使用摄像头的应用（如视频通话），然后点击“重试”。";
    }
    return "无法打开摄像头和麦克风，请点击“重试”。";
  }

  async function startMedia(forCheck) {
    showError("#media-error", null);
    show("#media-retry", false);
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new TypeError("no mediaDevices");
      if (!P.local) {
        P.local = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
          audio: { echoCancellation: true, noiseSuppression: true },
        });
      }
    } catch (err) {
      show("#step-media");
      showError("#media-error", { detail: mediaMessage(err) });
      $("#media-error").dataset.reason = (err && err.name) || "unsupported";
      show("#media-retry");
      $("#face-check").disabled = true;
      return false;
    }
    for (const v of [$("#self"), $("#self-pip")]) {
      v.srcObject = P.local;
      v.play().catch(() => {});
    }
    $("#face-check").disabled = !forCheck;
    return true;
  }
  P.startMedia = startMedia;

  // -- 3. the face check ---------------------------------------------------------------------------------

  async function grabFrames(n = 6, gapMs = 250) {
    const video = $("#self");
    const canvas = $("#grab");
    const ctx = canvas.getContext("2d");
    for (let i = 0; i < 40 && !(video.videoWidth > 0); i++) await new Promise((r) => setTimeout(r, 100));
    const blobs = [];
    for (let i = 0; i < n; i++) {
      const vw = video.videoWidth || 640, vh = video.videoHeight || 480;
      const scale = Math.max(640 / vw, 480 / vh);
      const w = vw * scale, h = vh * scale;
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, 640, 480);
      ctx.drawImage(video, (640 - w) / 2, (480 - h) / 2, w, h);
      blobs.push(await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.9)));
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return blobs;
  }

  async function faceCheck() {
    const button = $("#face-check");
    button.disabled = true;
    const box = $("#face-result");
    box.className = "notice";
    box.textContent = "正在核验，请保持正对摄像头…";
    try {
      const challenge = await api("POST", `/api/hearings/${P.hid}/face-check/challenge`);
      box.textContent = `正在核验：${challenge.prompt}`;
      box.dataset.prompt = challenge.prompt;
      const blobs = await grabFrames(challenge.frames, challenge.gap_ms);
      const form = new FormData();
      blobs.forEach((b, i) => form.append("frames", b, `frame-${i}.jpg`));
      const result = await api("POST", `/api/hearings/${P.hid}/face-check`, form);
      box.dataset.admitted = result.admitted ? "1" : "0";
      if (result.admitted) {
        box.textContent = "身份核验通过。";
        const next = afterFace || lobby;
        afterFace = null;
        next();
      } else {
        box.className = "error";
        box.textContent = `身份核验未通过：${Court.human(result.reason) || "人脸与登记照片不一致"}。请调整光线、正对摄像头后重试，或联系书记员。`;
        button.disabled = false;
        button.textContent = "重新核验";
      }
    } catch (e) {
      box.className = "error";
      box.textContent = e.detail;
      button.disabled = false;
    }
  }

  /** Ask for a face check, then run ``then`` (signing asks for one in the same session). */
  P.faceCheckThen = async (then, title) => {
    afterFace = () => { show("#step-media", false); then(); };
    $("#media-title").textContent = title || "请先核验身份";
    $("#welcome").textContent = "为确认是您本人签名，请先完成人脸核验。";
    $("#face-result").classList.add("hidden");
    $("#face-check").textContent = "开始核验";
    show("#step-media");
    $("#step-media").scrollIntoView({ block: "start" });
    await startMedia(true);
  };

  // -- 4. the lobby -----------------------------------------------------------------------------------------

  function lobby() {
    show("#step-media", false);
    show("#step-lobby");
    maybeConnect();
  }

  function lobbyText() {
    const r = myRemote();
    if (!r || r.state === "lobby") return "身份核验已通过，请等候书记员准许入庭。";
    if (r.state === "rejected") {
      return r.removed ? "书记员已将您请出庭审。如有疑问请联系书记员。" : "书记员未准许您入庭。如有疑问请联系书记员。";
    }
    if (P.snap.host !== "running") return "已准许入庭，庭审开始后自动接入，请稍候…";
    return "已准许入庭，正在接入庭审…";
  }

  async function poll() {
    try {
      P.snap = await api("GET", `/api/hearings/${P.hid}`);
    } catch (e) {
      if (e.status === 401) showError("#error", { detail: "会话已失效，请重新打开邀请链接。" });
      return;
    }
    const r = myRemote();
    if (r) $("#step-lobby").dataset.state = r.state;
    $("#lobby-state").textContent = lobbyText();
    if (Court.ended(P.snap)) hearingEnded();
    else if (r && r.state === "rejected") removed();
    else maybeConnect();
    renderState();
  }
  P.poll = poll;

  function maybeConnect() {
    const r = myRemote();
    if (left || !r || !P.snap || !["admitted", "connected", "left"].includes(r.state) || !Court.live(P.snap)) return;
    if (pc || connecting || !P.local) return;
    connect();
  }

  // -- 5. in the hearing --------------------------------------------------------------------------------------

  function setConn(text, kind) {
    $("#conn-state").textContent = text;
    $("#program").dataset.state = kind;
  }

  async function connect() {
    connecting = true;
    left = false;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (pc) { try { pc.close(); } catch (e) {} pc = null; }
    show("#step-lobby", false);
    show("#step-left", false);
    show("#step-hearing");
    document.querySelector("main").classList.add("in-hearing");
    const video = $("#program-video");
    video.srcObject = null;
    setConn("正在接入庭审…", "warn");
    const peer = new RTCPeerConnection(await Court.peerConfig());
    pc = peer;
    for (const track of P.local.getTracks()) {
      peer.addTransceiver(track, { direction: "sendrecv", streams: [P.local] });
    }
    peer.ontrack = (e) => attach(video, e);
    peer.onconnectionstatechange = () => {
      if (peer !== pc) return;
      const s = peer.connectionState;
      if (s === "connected") renderState();
      else if (s === "failed" || s === "disconnected") {
        setConn("网络连接中断，正在重新连接…", "bad");
        scheduleReconnect(2000);
      }
    };
    try {
      await negotiate(peer, P.hid);
      if (muted || cameraOff) sendMedia();
    } catch (e) {
      if (e.code === "not_admitted") { pc = null; show("#step-hearing", false); show("#step-lobby"); }
      else { setConn(`暂时无法接入：${e.detail}，稍后自动重试`, "bad"); scheduleReconnect(4000); }
    } finally {
      connecting = false;
    }
  }

  function scheduleReconnect(ms) {
    if (reconnectTimer || left) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      if (left) return;
      if (Court.live(P.snap)) connect();
      else { if (pc) { pc.close(); pc = null; } setConn(Court.ended(P.snap) ? "庭审已闭庭" : "休庭或暂停中，恢复后自动接入", "idle"); }
    }, ms);
  }

  function hangUp() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (pc) { try { pc.close(); } catch (e) {} pc = null; }
    $("#program-video").srcObject = null;
  }

  let endedShown = false;
  function removed() {
    // The clerk removed the party (or did not admit them): no reconnecting; the lobby says why, and
    // a new admission brings them back through maybeConnect.
    if (!pc && !connecting && !reconnectTimer) return;
    hangUp();
    show("#step-hearing", false);
    show("#step-lobby");
    document.querySelector("main").classList.remove("in-hearing");
  }

  function hearingEnded() {
    if (endedShown) return;
    endedShown = true;
    hangUp();
    if (P.local) { for (const t of P.local.getTracks()) t.stop(); P.local = null; }
    show("#step-hearing", false);
    show("#step-lobby", false);
    show("#step-left", false);
    show("#step-media", false);
    document.querySelector("main").classList.remove("in-hearing");
    for (const fn of P.hooks.entered) fn(true);
  }

  async function sendMedia() {
    try {
      await api("POST", `/api/hearings/${P.hid}/me/media`, { muted, camera_off: cameraOff });
    } catch (e) { /* shown on the page itself; the clerk sees it on the next change */ }
  }

  function toggleMic() {
    muted = !muted;
    if (P.local) for (const t of P.local.getAudioTracks()) t.enabled = !muted;
    const b = $("#mic-toggle");
    b.textContent = muted ? "取消静音" : "静音";
    b.classList.toggle("off", muted);
    b.setAttribute("aria-pressed", muted ? "true" : "false");
    sendMedia();
  }

  function toggleCamera() {
    cameraOff = !cameraOff;
    if (P.local) for (const t of P.local.getVideoTracks()) t.enabled = !cameraOff;
    const b = $("#cam-toggle");
    b.textContent = cameraOff ? "开启摄像头" : "关闭摄像头";
    b.classList.toggle("off", cameraOff);
    b.setAttribute("aria-pressed", cameraOff ? "true" : "false");
    $("#self-pip").classList.toggle("off", cameraOff);
    show("#self-off", cameraOff);
    sendMedia();
  }

  let leaveArmed = null;
  async function leave() {
    const b = $("#leave");
    if (!leaveArmed) {
      b.textContent = "确认离开？";
      b.classList.add("on");
      leaveArmed = setTimeout(() => { leaveArmed = null; b.textContent = "离开庭审"; b.classList.remove("on"); }, 4000);
      return;
    }
    clearTimeout(leaveArmed);
    leaveArmed = null;
    b.textContent = "离开庭审";
    b.classList.remove("on");
    left = true;
    hangUp();
    await api("POST", `/api/hearings/${P.hid}/me/leave`).catch(() => {});
    show("#step-hearing", false);
    show("#step-left");
    document.querySelector("main").classList.remove("in-hearing");
    renderState();
  }

  // -- events -----------------------------------------------------------------------------------------------

  function onEvent(e) {
    const line = Court.transcriptEvent($("#transcript"), e);
    if (!line && /^(remote|startup|hearing)\./.test(e.type)) poll();
    if (e.type === "hearing.closed") { P.snap.state = "closed"; hearingEnded(); }
    for (const fn of P.hooks.event) fn(e);
  }

  // -- go -------------------------------------------------------------------------------------------------

  $("#step-code").addEventListener("submit", (ev) => { ev.preventDefault(); join($("#code").value.trim()); });
  $("#media-retry").addEventListener("click", () => startMedia(!$("#step-media").classList.contains("hidden")));
  $("#face-check").addEventListener("click", faceCheck);
  $("#mic-toggle").addEventListener("click", toggleMic);
  $("#cam-toggle").addEventListener("click", toggleCamera);
  $("#leave").addEventListener("click", leave);
  $("#rejoin").addEventListener("click", () => { left = false; connect(); });
  $("#unmute").addEventListener("click", () => { const v = $("#program-video"); v.muted = false; v.play(); show("#unmute", false); });

  P.start = async () => {
    const code = Court.param("code");
    if (code) { $("#code").value = code; await join(code); return; }
    // back without a code: an existing party session
    try {
      const who = await api("GET", "/api/me");
      if (who.role === "party") {
        P.me = { hearing_id: who.hearing_id, participant_id: who.participant_id, name: who.name, role: who.role };
        P.hid = Number(Court.hearingParam()) || who.hearing_id;
        await entered();
      }
    } catch (e) { /* not signed in: type the code */ }
  };
  return P;
})();
