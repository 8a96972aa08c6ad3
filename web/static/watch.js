/* Supervisors and the observation room: the program feed with its sound, the hearing's state, the
   evidence on screen and the live transcript; receive only. */
"use strict";
(() => {
  const { api, $, showError, stream, receiveProgram, transcriptEvent } = Court;
  const hid = Court.hearingParam();
  let snap = null;

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
    $("#state").textContent = Court.STATES[snap.state] || "";
    $("#state").dataset.state = snap.state;
    $("#phase").textContent = snap.phase_label || "";
    $("#status").textContent = Court.stateText(snap);
    $("#status").dataset.state = snap.state;
    $("#caption").textContent = snap.director && snap.director.caption ? snap.director.caption : "";
    return true;
  }

  /** The item the clerk put on screen (viewers may open it once presented); the next replaces it. */
  const present = Court.presenter(() => $("#presented").classList.remove("hidden"));

  function onEvent(e) {
    if (e.type === "evidence.presented") { present(e); return; }
    if (transcriptEvent($("#transcript"), e)) return;
    if (/^(hearing|startup|caucus)\./.test(e.type)) refresh().then(() => program && program.check());
  }

  let program = null;
  $("#unmute").addEventListener("click", () => {
    const v = $("#program-video"); v.muted = false; v.play(); $("#unmute").classList.add("hidden");
  });

  (async () => {
    if (!hid) { showError("#error", { detail: "地址中缺少庭审编号。" }); return; }
    if (!(await refresh())) return;
    stream(hid, onEvent);
    program = receiveProgram(hid, $("#program-video"), (text, kind) => {
      $("#program-state").textContent = text;
      $("#program").dataset.state = kind;
    }, () => Court.live(snap), () => (Court.ended(snap) ? "庭审已闭庭，直播画面已结束" : "庭审尚未开始，开始后自动显示画面"));
    setInterval(refresh, 5000);
  })();
})();
