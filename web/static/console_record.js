/* The console's record: the 笔录 after the close (the locked text, each party's signature — signed,
   refused or pending, when and how — and the exports), the evidence, the mediation settlement, and the
   hearing's log in Chinese and Beijing time. */
"use strict";
(() => {
  const C = Console;
  const { api, $, el, showError, roleLabel, timeOfDay, describe } = Court;

  // -- the 笔录 after the close ----------------------------------------------------------------------

  let review = null;

  async function loadReview() {
    if (!C.snap || !Court.ended(C.snap)) { $("#bilu-card").classList.add("hidden"); return; }
    try { review = await api("GET", `${C.base}/bilu/review`); } catch (e) { C.fail(e); return; }
    const r = review;
    $("#bilu-card").classList.remove("hidden");
    $("#bilu-card").dataset.version = r.version || "";
    $("#bilu-version").textContent = r.version
      ? `第 ${r.version} 版 · 锁定于 ${Court.dateTime(r.locked_at)}（北京时间）`
      : "已更正，尚未重新送签";
    $("#relock").classList.toggle("hidden", !r.needs_lock);
    $("#export-docx").href = `${C.base}/bilu/export?format=docx`;
    $("#export-pdf").href = `${C.base}/bilu/export?format=pdf`;
    const ul = $("#signers");
    ul.textContent = "";
    const parties = r.signers.filter((s) => !["presiding_arbitrator", "arbitrator", "clerk"].includes(s.role));
    const others = r.signers.filter((s) => !parties.includes(s));
    for (const s of [...parties, ...others]) {
      const label = { signed: "已签名", refused: "拒绝签名", pending: "待签名" }[s.state];
      const kind = { signed: "ok", refused: "bad", pending: "warn" }[s.state];
      let how = "";
      if (s.state !== "pending") {
        how = `${timeOfDay(s.at)}`;
        if (s.methods && s.methods.length) how += ` · ${s.methods.join("、")}`;
        if (s.state === "refused" && s.reason) how += ` · 理由：${s.reason}`;
      } else if (others.includes(s)) how = "庭内签名";
      ul.append(el("li", { "data-participant": s.participant_id === null ? "" : s.participant_id, "data-state": s.state, class: "row" },
        el("span", { class: `badge ${kind}`, text: label }),
        el("span", { class: "grow", text: `${s.role_label} ${s.name}` }),
        el("span", { class: "muted small", text: how })));
    }
    if (!r.signers.length) ul.append(el("li", { class: "muted", text: r.needs_lock ? "重新送签后显示签名情况" : "暂无" }));
    const doc = $("#bilu-doc");
    doc.textContent = "";
    for (const b of r.blocks) doc.append(el("p", { class: `b-${b.kind}`, text: b.text }));
  }
  const soonReview = () => C.soon(loadReview, 300);

  $("#relock").addEventListener("click", C.act(async () => {
    await api("POST", `${C.base}/bilu/lock`);
    await loadReview();
  }));

  // -- evidence ----------------------------------------------------------------------------------------

  async function loadEvidence() {
    let items;
    try { items = await api("GET", `${C.base}/evidence`); } catch (e) { C.fail(e); return; }
    const ul = $("#evidence");
    ul.textContent = "";
    if (!items.length) { ul.append(el("li", { class: "muted", text: "暂无证据" })); return; }
    for (const it of items) {
      ul.append(el("li", { "data-evidence": it.id },
        el("div", { class: "row" },
          el("a", { href: it.url, target: "_blank", class: "grow", text: it.title || "证据" }),
          C.running()
            ? el("button", { type: "button", class: "present small",
              onclick: C.act(async () => { await api("POST", `${C.base}/evidence/${it.id}/present`); }) }, "上屏展示")
            : null),
        el("div", { class: "muted small", text: `${it.submitter || ""} · ${(it.size / 1024).toFixed(0)} KB` })));
    }
  }

  // -- the mediation settlement (调解协议) ----------------------------------------------------------------

  let settlement = null;
  async function loadSettlement() {
    try { settlement = await api("GET", `${C.base}/settlement`); } catch (e) { C.fail(e); return; }
    const s = settlement;
    const version = $("#settlement-version");
    const ul = $("#settlement-signatures");
    ul.textContent = "";
    if (!s.sha256) { version.textContent = "尚未提交"; return; }
    version.textContent = `第 ${s.version} 版 · ${s.concluded ? "各方已签署，协议达成" : "等待当事人签署"}`;
    version.dataset.concluded = s.concluded ? "1" : "0";
    const text = $("#settlement-text");
    if (!text.value.trim()) text.value = s.text;
    $("#settlement-submit").disabled = !!s.concluded;
    const names = new Map(C.participants().map((p) => [p.id, `${p.role_label} ${p.name}`]));
    const done = new Set();
    for (const sig of s.signatures || []) {
      done.add(sig.participant_id);
      ul.append(el("li", { "data-participant": sig.participant_id, "data-refused": sig.refused ? "1" : "0" },
        el("span", { class: `badge ${sig.refused ? "bad" : "ok"}`, text: sig.refused ? "不同意" : "已签署" }), " ",
        `${sig.role_label || roleLabel(sig.role)} ${sig.name}`, " ",
        el("span", { class: "muted", text: `${timeOfDay(sig.signed_at)}${sig.refused && sig.reason ? `　理由：${sig.reason}` : ""}` })));
    }
    for (const pid of s.required || []) {
      if (done.has(pid)) continue;
      ul.append(el("li", { "data-participant": pid, "data-pending": "1" },
        el("span", { class: "badge warn", text: "待签署" }), " ", names.get(pid) || "当事人"));
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
      settlement = await api("POST", `${C.base}/settlement`, { text });
      await loadSettlement();
    } catch (e) {
      if (e.status === 401) { C.fail(e); return; }
      showError("#settlement-error", e);
    } finally {
      $("#settlement-submit").disabled = !!(settlement && settlement.concluded);
    }
  });

  // -- the log: Chinese, Beijing time; a burst of the same fact is one line with a count ---------------------

  function log(e) {
    const what = describe(e, C.participants());
    if (!what) return;
    const ul = $("#log");
    const first = ul.firstElementChild;
    const at = Date.parse(e.wall);
    if (first && first.dataset.what === what && Math.abs(at - Number(first.dataset.at)) < 10_000) {
      const n = Number(first.dataset.count || "1") + 1;
      first.dataset.count = String(n);
      first.querySelector(".count").textContent = `（共 ${n} 路）`;
      return;
    }
    ul.prepend(el("li", { "data-type-family": e.type.split(".")[0], "data-what": what, "data-at": String(at) },
      el("span", { class: "muted", text: `${timeOfDay(e.wall)} ` }), what, el("span", { class: "muted count" })));
    while (ul.children.length > 300) ul.lastChild.remove();
  }

  C.on("start", async () => {
    loadEvidence();
    loadSettlement();
    await loadReview();
  });
  C.on("event", (e) => {
    log(e);
    if (e.type.startsWith("evidence.")) C.soon(loadEvidence, 200);
    if (e.type.startsWith("settlement.")) C.soon(loadSettlement, 200);
    if (e.type.startsWith("bilu.") || e.type === "hearing.closed" || e.type.startsWith("correction.")
        || (e.type.startsWith("utterance.") && Court.ended(C.snap))) soonReview();
  });
  let wasEnded = null;
  C.on("render", (s) => {
    const ended = Court.ended(s);
    const key = `${ended}/${s.host}`;
    if (key !== wasEnded) { wasEnded = key; loadReview(); loadEvidence(); }
  });
})();
