/* The party's record: the 笔录 to sign after the close (a face check first when the court asks for one),
   a request to correct it (Art. 42) with the tribunal's answer, evidence, and the mediation settlement. */
"use strict";
(() => {
  const P = Party;
  const { api, $, el, showError } = Court;
  const show = P.show;
  let biluShown = null;         // the sha256 of the version on screen
  let settlementShown = null;   // the sha256 of the settlement text on screen
  let settlementTimer = null;
  let ended = false;

  // -- the 笔录 -----------------------------------------------------------------------------------------------

  async function checkBilu() {
    let b;
    try { b = await api("GET", `/api/hearings/${P.hid}/bilu`); } catch (e) { return; }
    if (!b || !b.sha256) {
      if (ended) {
        show("#step-bilu");
        $("#bilu-text").textContent = "笔录正在整理，请稍候…";
        show("#bilu-actions", false);
        setTimeout(checkBilu, 3000);
      }
      return;
    }
    show("#step-bilu");
    const doc = $("#bilu-text");
    doc.textContent = "";
    for (const line of String(b.text).split("\n")) doc.append(el("p", { text: line }));
    $("#bilu-version").textContent = `第 ${b.version} 版　校验码（SHA-256）：${b.sha256}`;
    const changed = biluShown !== null && biluShown !== b.sha256;
    biluShown = b.sha256;
    const mine = (b.signatures || []).find((s) => (s.participant_id !== undefined ? s.participant_id === P.me.participant_id : s.name === P.me.name));
    if (mine) {
      show("#bilu-actions", false);
      $("#bilu-done").textContent = mine.refused ? "您已拒绝签名，理由已记录。" : `您已确认签名（${Court.timeOfDay(mine.signed_at)}）。`;
      show("#bilu-done");
    } else {
      show("#bilu-actions");
      $("#bilu-done").textContent = changed ? "笔录已更正，请重新核对后签名。" : "";
      show("#bilu-done", changed);
    }
  }

  const FACE_NEEDED = /face/i;

  async function sign(agree) {
    showError("#bilu-error", null);
    const reason = $("#refuse-reason").value.trim();
    if (!agree && !reason) { showError("#bilu-error", { detail: "拒绝签名请写明理由。" }); return; }
    for (const b of ["#sign", "#refuse"]) $(b).disabled = true;
    try {
      await api("POST", `/api/hearings/${P.hid}/bilu/sign`, { sha256: biluShown, agree, reason });
      show("#bilu-actions", false);
      $("#bilu-done").textContent = agree ? "您已确认签名，谢谢。" : "您已拒绝签名，理由已记录。";
      show("#bilu-done");
    } catch (e) {
      if (FACE_NEEDED.test(e.code || "") || e.status === 428) {
        // The court asks for a fresh face check in this session before a signature.
        P.faceCheckThen(() => { $("#step-bilu").scrollIntoView({ block: "start" }); sign(agree); }, "签名前请先核验身份");
        return;
      }
      showError("#bilu-error", e);
      if (e.status === 409) checkBilu();
    } finally {
      for (const b of ["#sign", "#refuse"]) $(b).disabled = false;
    }
  }

  // -- a request to correct the 笔录 (Art. 42) ----------------------------------------------------------------

  let lines = [];
  let linesTimer = null;
  let pending = false;
  setInterval(() => { if (pending) loadRequests(); }, 5000);   // a refusal is not on the party's stream
  async function loadLines() {
    try { lines = await api("GET", `/api/hearings/${P.hid}/transcript`); } catch (e) { return; }
    const select = $("#corr-line");
    const keep = select.value;
    select.textContent = "";
    select.append(el("option", { value: "", text: lines.length ? "请选择要更正的一行" : "暂无可更正的内容" }));
    for (const l of lines) {
      const text = l.text.length > 28 ? `${l.text.slice(0, 28)}…` : l.text;
      select.append(el("option", { value: l.id, text: `${Court.atT(l.start)} ${l.role_label}：${text}` }));
    }
    if (lines.some((l) => l.id === keep)) select.value = keep;
  }

  async function loadRequests() {
    let items;
    try { items = await api("GET", `/api/hearings/${P.hid}/corrections`); } catch (e) { return; }
    const ul = $("#corr-list");
    ul.textContent = "";
    pending = items.some((r) => r.status === "pending");
    for (const r of items) {
      const kind = r.status === "pending" ? "warn" : r.status === "accepted" ? "ok" : "bad";
      ul.append(el("li", { "data-request": r.request_id, "data-status": r.status },
        el("span", { class: `badge ${kind}`, text: r.status_label }), " ",
        el("span", { text: `申请改为：${r.proposed_text}` }),
        r.status === "refused" && r.decision_reason ? el("div", { class: "muted small", text: `不予更正的理由：${r.decision_reason}` }) : null));
    }
  }

  async function sendRequest() {
    showError("#corr-error", null);
    const line = $("#corr-line").value;
    const text = $("#corr-text").value.trim();
    const reason = $("#corr-reason").value.trim();
    if (!line) { showError("#corr-error", { detail: "请选择要更正的一行。" }); return; }
    if (!text) { showError("#corr-error", { detail: "请写明应当怎样记录。" }); return; }
    $("#corr-send").disabled = true;
    try {
      await api("POST", `/api/hearings/${P.hid}/corrections`, { line, text, reason });
      $("#corr-text").value = "";
      $("#corr-reason").value = "";
      $("#corr-line").value = "";
      $("#correction-details").open = false;
      await loadRequests();
    } catch (e) {
      showError("#corr-error", e);
    } finally {
      $("#corr-send").disabled = false;
    }
  }

  // -- evidence -------------------------------------------------------------------------------------------------

  async function loadEvidence() {
    try {
      const items = await api("GET", `/api/hearings/${P.hid}/evidence`);
      const ul = $("#evidence-list");
      ul.textContent = "";
      for (const it of items) {
        ul.append(el("li", { "data-evidence": it.id },
          el("a", { href: it.url, target: "_blank", text: it.title || "证据" }), " ",
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
      const info = await api("POST", `/api/hearings/${P.hid}/evidence`, form);
      $("#evidence-ok").textContent = `已提交：${info.title}`;
      show("#evidence-ok");
      $("#evidence-file").value = "";
      $("#evidence-file-name").textContent = "未选择文件";
      $("#evidence-title").value = "";
      loadEvidence();
    } catch (e) {
      showError("#evidence-error", e);
      $("#evidence-error").dataset.status = e.status;
    } finally {
      $("#evidence-upload").disabled = false;
    }
  }

  /** The evidence the clerk puts on screen; the next replaces it. */
  const present = Court.presenter(() => { if (!ended) show("#step-presented"); });

  // -- the mediation settlement (调解协议) ------------------------------------------------------------------

  async function checkSettlement() {
    let s;
    try { s = await api("GET", `/api/hearings/${P.hid}/settlement`); } catch (e) { return; }
    if (!s || !s.sha256) { show("#step-settlement", false); settlementShown = null; return; }
    const changed = settlementShown !== null && settlementShown !== s.sha256;
    show("#step-settlement");
    $("#settlement-text").textContent = s.text;
    $("#settlement-version").textContent = `第 ${s.version} 版　校验码（SHA-256）：${s.sha256}`
      + (s.concluded ? "　各方已签署，协议达成" : "");
    $("#step-settlement").dataset.version = s.version;
    settlementShown = s.sha256;
    const mine = (s.signatures || []).find((x) => x.participant_id === P.me.participant_id);
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
      const r = await api("POST", `/api/hearings/${P.hid}/settlement/sign`, { sha256: settlementShown, agree, reason });
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

  // -- wiring -----------------------------------------------------------------------------------------------

  P.on("entered", async (isEnded) => {
    ended = isEnded;
    show("#step-correction");
    loadLines();
    loadRequests();
    checkSettlement();
    if (isEnded) {
      show("#step-evidence", false);
      show("#step-presented", false);
      show("#step-transcript", false);
      await checkBilu();
      const card = $("#step-bilu");
      card.parentNode.insertBefore(card, $("#step-presented"));
      card.scrollIntoView({ block: "start" });
    } else {
      show("#step-evidence");
      loadEvidence();
    }
  });
  P.on("event", (e) => {
    if (e.type.startsWith("evidence.")) loadEvidence();
    if (e.type === "evidence.presented") present(e);
    if (e.type.startsWith("settlement.") || e.type === "hearing.phase") {
      clearTimeout(settlementTimer);
      settlementTimer = setTimeout(checkSettlement, 200);
    }
    if (e.type === "utterance" || e.type.startsWith("utterance.")) {
      clearTimeout(linesTimer);
      linesTimer = setTimeout(loadLines, 500);
    }
    if (e.type.startsWith("utterance.")) loadRequests();
    if (e.type.startsWith("bilu.")) checkBilu();
  });
  $("#corr-line").addEventListener("change", () => {
    const l = lines.find((x) => x.id === $("#corr-line").value);
    if (l) $("#corr-text").value = l.text;
  });
  $("#corr-send").addEventListener("click", sendRequest);
  $("#evidence-upload").addEventListener("click", upload);
  $("#evidence-file").addEventListener("change", () => {
    const file = $("#evidence-file").files[0];
    $("#evidence-file-name").textContent = file ? file.name : "未选择文件";
  });
  $("#sign").addEventListener("click", () => sign(true));
  $("#refuse").addEventListener("click", () => sign(false));
  $("#settlement-agree").addEventListener("click", () => signSettlement(true));
  $("#settlement-refuse").addEventListener("click", () => signSettlement(false));
  P.start();
})();
