/* Supervisors and the observation room: the program feed with its sound, the hearing's state, the
   evidence on screen and the live transcript; receive only. */
"use strict";
(() => {
  const { api, $, el, showError, clock, roleLabel, stream, receiveProgram } = Court;
  const hid = Court.param("hearing");
  let snap = null;
  let presentTimer = null;
  const PICTURE = /\.(jpe?g|jpe|png|gif|webp)$/i;

  function refused(e) {
    showError("#error", e.status === 403 ? { detail: `${e.detail}。您无权观看该庭审。` } : e);
    $("#content").classList.add("hidden");
    document.body.dataset.refused = String(e.status || "");
  }

  async function refresh() {
    try { snap = await api("GET", `/api/hearings/${hid}`); } catch (e) {
      if (e.status === 401) { location.href = `/login?hearing=${hid}`; return false; }
      refused(e);
      return false;
    }
    $("#case").textContent = `${snap.case_number}　${snap.cause}`;
    $("#state").textContent = snap.state_label || snap.state;
    $("#state").dataset.state = snap.state;
    $("#phase").textContent = snap.phase_label || "";
    $("#caption").textContent = snap.director && snap.director.caption ? snap.director.caption : "";
    return true;
  }

  /** The item the clerk put on screen (viewers may open it once presented); the next replaces it. */
  function presented(e) {
    if (!e.evidence_id) return;
    const url = `/api/evidence/${encodeURIComponent(e.evidence_id)}/file`;
    const picture = PICTURE.test(e.filename || "");
    $("#presented-title").textContent = e.title || e.filename || "证据";
    const body = $("#presented-body");
    body.textContent = "";
    body.dataset.evidence = e.evidence_id;
    if (picture) {
      const img = el("img", { src: url, alt: e.title || e.filename || "证据", "data-testid": "presented-image",
        style: "max-width:100%;max-height:50vh;display:block;margin:0 auto;border-radius:6px" });
      img.addEventListener("error", () => {
        img.replaceWith(el("p", { class: "muted", text: "图片无法显示，请点击下方链接查看。" }));
      });
      body.append(img);
    }
    body.append(el("p", {},
      el("a", { href: url, target: "_blank", rel: "noopener", "data-testid": "presented-link",
        text: picture ? "查看原图" : `打开证据文件 ${e.filename || ""}` })));
    $("#presented").classList.remove("hidden");
  }

  function onEvent(e) {
    if (e.type === "evidence.presented") {  // the latest one wins (the stream replays the past at once)
      clearTimeout(presentTimer);
      presentTimer = setTimeout(() => presented(e), 150);
      return;
    }
    if (e.type === "utterance") {
      const box = $("#transcript");
      if (box.querySelector(`[data-id="u${e.seq}"]`)) return;
      box.append(el("div", { class: "line", "data-id": `u${e.seq}`, "data-role": e.role },
        el("span", { class: "who", text: roleLabel(e.role, e.role_label) }),
        el("div", { class: "text", text: e.text }),
        el("span", { class: "when", text: clock(e.start) })));
      box.scrollTop = box.scrollHeight;
    } else if (e.type === "utterance.corrected" && e.line) {
      const line = $(`#transcript [data-id="${CSS.escape(e.line)}"] .text`);
      if (line && e.after) line.textContent = e.after;
    } else if (/^(hearing|startup|caucus)\./.test(e.type)) {
      refresh();
    }
  }

  $("#unmute").addEventListener("click", () => {
    const v = $("#program-video"); v.muted = false; v.play(); $("#unmute").classList.add("hidden");
  });

  (async () => {
    if (!hid) { showError("#error", { detail: "缺少庭审编号 (no hearing given)" }); return; }
    if (!(await refresh())) return;
    stream(hid, onEvent);
    receiveProgram(hid, $("#program-video"), (text, kind) => {
      $("#program-state").textContent = text;
      $("#program").dataset.state = kind;
    }, () => snap && snap.host === "running");
    setInterval(refresh, 5000);
  })();
})();
