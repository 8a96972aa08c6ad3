/* A party joining from a phone or PC: the invitation code, camera and microphone, the face check,
   the lobby, then the hearing over WebRTC (their camera and microphone in, the program and the sound
   out), the live transcript, evidence (and the item on screen), the mediation settlement, and signing
   the 笔录 at the end. */
"use strict";
(() => {
  const { api, $, el, showError, clock, roleLabel, stream, negotiate, attach } = Court;
  let me = null;          // {hearing_id, participant_id, name, role}
  let hid = null;
  let local = null;       // the camera+microphone MediaStream
  let snap = null;
  let pc = null;
  let connecting = false;
  let reconnectTimer = null;
  let events = null;
  let biluShown = null;
  let settlementShown = null;   // the sha256 of the settlement text on screen
  let polls = 0;
  let settlementTimer = null;

  const show = (id, on = true) => $(id).classList.toggle("hidden", !on);
  const fail = (e, box = "#error") => showError(box, e);

  // -- 1. the invitation ------------------------------------------------------------------------------

  async function join(code) {
    showError("#join-error", null);
    $("#join-btn").disabled = true;
    try {
      me = await api("POST", "/api/join", { code });
      hid = me.hearing_id;
      history.replaceState(null, "", `/join?hearing=${hid}`);
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
      snap = await api("GET", `/api/hearings/${hid}`);
    } catch (e) {
      if (e.status === 403) { refuse(e); return; }
      throw e;
    }
    $("#case").textContent = snap.case_number;
    $("#welcome").textContent = `${me.name}，您好。您将以${roleLabel(partyRole())}身份参加 ${snap.case_number}（${snap.cause}）的庭审。`;
    renderState();
    events = stream(hid, onEvent);
    const mine = myRemote();
    if (mine && ["lobby", "admitted", "connected", "left"].includes(mine.state)) {
      // back after a reload: the face check was passed already
      await startMedia(false);
      lobby();
    } else {
      show("#step-media");
      await startMedia(true);
    }
    show("#step-transcript");
    show("#step-evidence");
    loadEvidence();
    checkBilu();
    checkSettlement();
    setInterval(poll, 3000);
  }

  function refuse(e) {
    show("#step-code", false);
    showError("#error", { detail: `${e.detail}。您只能进入邀请您参加的庭审。` });
    document.body.dataset.refused = "1";
  }

  function partyRole() {
    const p = (snap.participants || []).find((x) => x.id === me.participant_id);
    return p ? p.role : "";
  }
  function myRemote() {
    return (snap && snap.remotes || []).find((r) => r.participant_id === me.participant_id) || null;
  }

  function renderState() {
    $("#state").textContent = snap.state_label || snap.state;
    $("#state").dataset.state = snap.state;
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
    return `无法打开摄像头和麦克风（${name || ""} ${err && err.message || ""}）。请点击“重试”。`;
  }

  async function startMedia(forCheck) {
    showError("#media-error", null);
    show("#media-retry", false);
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new TypeError("no mediaDevices");
      local = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
        audio: { echoCancellation: true, noiseSuppression: true },
      });
    } catch (err) {
      show("#step-media");
      showError("#media-error", { detail: mediaMessage(err) });
      $("#media-error").dataset.reason = (err && err.name) || "unsupported";
      show("#media-retry");
      $("#face-check").disabled = true;
      return false;
    }
    const self = $("#self");
    self.srcObject = local;
    await self.play().catch(() => {});
    $("#face-check").disabled = !forCheck;
    return true;
  }

  // -- 3. the face check ---------------------------------------------------------------------------------

  async function grabFrames(n = 6, gapMs = 250) {
    const video = $("#self");
    const canvas = $("#grab");
    const ctx = canvas.getContext("2d");
    for (let i = 0; i < 40 && !(video.videoWidth > 0); i++) await new Promise((r) => setTimeout(r, 100));
    const blobs = [];
    for (let i = 0; i < n; i++) {
      // cover 640×480 without distortion
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
      const challenge = await api("POST", `/api/hearings/${hid}/face-check/challenge`);
      box.textContent = `正在核验：${challenge.prompt}`;
      box.dataset.prompt = challenge.prompt;
      const blobs = await grabFrames(challenge.frames, challenge.gap_ms);
      const form = new FormData();
      blobs.forEach((b, i) => form.append("frames", b, `frame-${i}.jpg`));
      const result = await api("POST", `/api/hearings/${hid}/face-check`, form);
      box.dataset.admitted = result.admitted ? "1" : "0";
      if (result.admitted) {
        box.textContent = "身份核验通过。";
        lobby();
      } else {
        box.className = "error";
        box.textContent = `身份核验未通过：${result.reason || "人脸与登记照片不一致"}。请调整光线、正对摄像头后重试，或联系书记员。`;
        button.disabled = false;
        button.textContent = "重新核验";
      }
    } catch (e) {
      box.className = "error";
      box.textContent = e.detail || e.message;
      button.disabled = false;
    }
  }

  // -- 4. the lobby -----------------------------------------------------------------------------------------

  function lobby() {
    show("#step-media", false);
    show("#step-lobby");
    maybeConnect();
  }

  function lobbyText() {
    const r = myRemote();
    if (!r) return "身份核验已通过，请等候书记员准许入庭。";
    if (r.state === "rejected") return "书记员未准许您入庭。如有疑问请联系书记员。";
    if (r.state === "lobby") return "身份核验已通过，请等候书记员准许入庭。";
    if (snap.host !== "running") return "已准许入庭，庭审即将开始，请稍候…";
    return "已准许入庭，正在接入庭审…";
  }

  async function poll() {
    try {
      snap = await api("GET", `/api/hearings/${hid}`);
    } catch (e) {
      if (e.status === 401) { showError("#error", { detail: "会话已失效，请重新打开邀请链接。" }); }
      return;
    }
    renderState();
    const r = myRemote();
    if (r) $("#step-lobby").dataset.state = r.state;
    $("#lobby-state").textContent = lobbyText();
    if (["closed", "signing", "archived"].includes(snap.state)) checkBilu();
    if (++polls % 5 === 0) checkSettlement();  // also when the stream does not carry settlement events
    maybeConnect();
  }

  function maybeConnect() {
    const r = myRemote();
    if (!r || !snap || !["admitted", "connected", "left"].includes(r.state) || snap.host !== "running") return;
    if (pc || connecting || !local) return;
    connect();
  }

  // -- 5. in the hearing --------------------------------------------------------------------------------------

  function setConn(text, kind) {
    $("#conn-state").textContent = text;
    $("#program").dataset.state = kind;
  }

  async function connect() {
    connecting = true;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (pc) { try { pc.close(); } catch (e) {} pc = null; }
    show("#step-lobby", false);
    show("#step-hearing");
    const video = $("#program-video");
    video.srcObject = null;
    setConn("正在接入庭审…", "warn");
    const peer = new RTCPeerConnection(await Court.peerConfig());
    pc = peer;
    for (const track of local.getTracks()) {
      peer.addTransceiver(track, { direction: "sendrecv", streams: [local] });
    }
    peer.ontrack = (e) => attach(video, e);
    peer.onconnectionstatechange = () => {
      if (peer !== pc) return;
      const s = peer.connectionState;
      if (s === "connected") setConn("已接入庭审", "ok");
      else if (s === "failed" || s === "disconnected") {
        setConn("网络连接中断，正在重新连接…", "bad");
        scheduleReconnect(2000);
      }
    };
    try {
      await negotiate(peer, hid);
    } catch (e) {
      if (e.code === "not_admitted") { pc = null; show("#step-hearing", false); show("#step-lobby"); }
      else { setConn(`接入失败：${e.detail || e.message}，稍后自动重试`, "bad"); scheduleReconnect(4000); }
    } finally {
      connecting = false;
    }
  }

  function scheduleReconnect(ms) {
    if (reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      if (snap && snap.host === "running") connect();
      else { if (pc) { pc.close(); pc = null; } setConn("庭审暂未进行，恢复后自动接入", "warn"); }
    }, ms);
  }

  // -- the transcript, events -------------------------------------------------------------------------------

  function onEvent(e) {
    const line = Court.transcriptEvent($("#transcript"), e);
    if (!line && (e.type.startsWith("remote.") || e.type.startsWith("startup.") || e.type.startsWith("hearing."))) {
      poll();
    }
    if (e.type.startsWith("evidence.")) loadEvidence();
    if (e.type === "evidence.presented") present(e);
    if (e.type.startsWith("settlement.") || e.type === "hearing.phase") {
      clearTimeout(settlementTimer);
      settlementTimer = setTimeout(checkSettlement, 200);
    }
    if (e.type.startsWith("bilu.") || e.type === "hearing.closed" || e.type === "hearing.signing") checkBilu();
  }

  // -- evidence -------------------------------------------------------------------------------------------------

  async function loadEvidence() {
    try {
      const items = await api("GET", `/api/hearings/${hid}/evidence`);
      const ul = $("#evidence-list");
      ul.textContent = "";
      for (const it of items) {
        ul.append(el("li", { "data-evidence": it.id },
          el("a", { href: it.url, target: "_blank", text: it.title || it.filename }), " ",
          el("span", { class: "muted", text: it.submitter || "" })));
      }
    } catch (e) { /* shown on upload */ }
  }

  async function upload() {
    showError("#evidence-error", null);
    show("#evidence-ok", false);
    const file = $("#evidence-file").files[0];
    if (!file) { showError("#evidence-error", { detail: "请先选择要上传的文件。" }); return; }
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("title", $("#evidence-title").value.trim());
    $("#evidence-upload").disabled = true;
    try {
      const info = await api("POST", `/api/hearings/${hid}/evidence`, form);
      $("#evidence-ok").textContent = `已提交：${info.title}（SHA-256 ${info.sha256.slice(0, 16)}…）`;
      show("#evidence-ok");
      $("#evidence-file").value = "";
      $("#evidence-title").value = "";
      loadEvidence();
    } catch (e) {
      showError("#evidence-error", e);
      $("#evidence-error").dataset.status = e.status;
    } finally {
      $("#evidence-upload").disabled = false;
    }
  }

  // -- the item on screen ------------------------------------------------------------------------------------

  /** The evidence the clerk puts on screen; the next replaces it. */
  const present = Court.presenter(() => show("#step-presented"));

  // -- the mediation settlement (调解协议) ------------------------------------------------------------------

  async function checkSettlement() {
    let s;
    try { s = await api("GET", `/api/hearings/${hid}/settlement`); } catch (e) { return; }
    if (!s || !s.sha256) { show("#step-settlement", false); settlementShown = null; return; }
    const changed = settlementShown !== null && settlementShown !== s.sha256;
    show("#step-settlement");
    $("#settlement-text").textContent = s.text;
    $("#settlement-version").textContent = `第 ${s.version} 版　SHA-256 ${s.sha256}`
      + (s.concluded ? "　各方已签署，协议达成" : "");
    $("#step-settlement").dataset.version = s.version;
    settlementShown = s.sha256;
    const mine = (s.signatures || []).find((x) => x.participant_id === me.participant_id);
    if (mine) {
      show("#settlement-actions", false);
      $("#settlement-done").textContent = (mine.refused ? "您已表示不同意，理由已记录。" : "您已同意并签署本协议。")
        + (s.concluded ? "各方均已签署，调解协议达成。" : "");
      show("#settlement-done");
    } else {
      show("#settlement-actions");
      $("#settlement-done").textContent = changed ? "调解协议文本已更新，请重新阅读后签署。" : "";
      show("#settlement-done", changed);
    }
  }

  async function signSettlement(agree) {
    showError("#settlement-error", null);
    const reason = $("#settlement-reason").value.trim();
    if (!agree && !reason) { showError("#settlement-error", { detail: "不同意请写明理由。" }); return; }
    if (!settlementShown) return;
    for (const b of ["#settlement-agree", "#settlement-refuse"]) $(b).disabled = true;
    try {
      const r = await api("POST", `/api/hearings/${hid}/settlement/sign`, { sha256: settlementShown, agree, reason });
      show("#settlement-actions", false);
      $("#settlement-done").textContent = (agree ? "您已同意并签署调解协议，谢谢。" : "您已表示不同意，理由已记录。")
        + (r.concluded ? "各方均已签署，调解协议达成。" : "");
      show("#settlement-done");
    } catch (e) {
      showError("#settlement-error", e);
      if (e.status === 409) checkSettlement();
    } finally {
      for (const b of ["#settlement-agree", "#settlement-refuse"]) $(b).disabled = false;
    }
  }

  // -- the 笔录 -----------------------------------------------------------------------------------------------

  async function checkBilu() {
    let b;
    try { b = await api("GET", `/api/hearings/${hid}/bilu`); } catch (e) { return; }
    if (!b || !b.sha256) return;
    show("#step-bilu");
    $("#bilu-text").textContent = b.text;
    $("#bilu-version").textContent = `第 ${b.version} 版　SHA-256 ${b.sha256}`;
    biluShown = b.sha256;
    const mine = (b.signatures || []).find((s) => s.name === me.name);
    if (mine) {
      show("#bilu-actions", false);
      $("#bilu-done").textContent = mine.refused ? "您已拒绝签名，理由已记录。" : "您已确认签名。";
      show("#bilu-done");
    }
  }

  async function sign(agree) {
    showError("#bilu-error", null);
    const reason = $("#refuse-reason").value.trim();
    if (!agree && !reason) { showError("#bilu-error", { detail: "拒绝签名请写明理由。" }); return; }
    try {
      await api("POST", `/api/hearings/${hid}/bilu/sign`, { sha256: biluShown, agree, reason });
      show("#bilu-actions", false);
      $("#bilu-done").textContent = agree ? "您已确认签名，谢谢。" : "您已拒绝签名，理由已记录。";
      show("#bilu-done");
    } catch (e) {
      showError("#bilu-error", e);
      if (e.status === 409) checkBilu();
    }
  }

  // -- go -------------------------------------------------------------------------------------------------

  $("#step-code").addEventListener("submit", (ev) => { ev.preventDefault(); join($("#code").value.trim()); });
  $("#media-retry").addEventListener("click", () => startMedia(!$("#step-media").classList.contains("hidden")));
  $("#face-check").addEventListener("click", faceCheck);
  $("#evidence-upload").addEventListener("click", upload);
  $("#sign").addEventListener("click", () => sign(true));
  $("#refuse").addEventListener("click", () => sign(false));
  $("#settlement-agree").addEventListener("click", () => signSettlement(true));
  $("#settlement-refuse").addEventListener("click", () => signSettlement(false));
  $("#unmute").addEventListener("click", () => { const v = $("#program-video"); v.muted = false; v.play(); show("#unmute", false); });

  (async () => {
    const code = Court.param("code");
    if (code) { $("#code").value = code; await join(code); return; }
    // back without a code: an existing party session
    try {
      const who = await api("GET", "/api/me");
      if (who.role === "party") {
        me = { hearing_id: who.hearing_id, participant_id: who.participant_id, name: who.name, role: who.role };
        hid = Number(Court.param("hearing")) || who.hearing_id;
        await entered();
        return;
      }
    } catch (e) { /* not signed in: type the code */ }
  })();
})();
