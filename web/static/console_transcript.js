/* The live transcript, the clerk's work surface: driven from the keyboard while listening. ↑↓ select a
   line, Enter corrects it (and plays it), Enter again saves and moves on, Esc cancels, Alt+Enter splits
   at the caret, Space plays, M merges with the next line, A adds a line after it; the role and the
   marks from the toolbar. And the parties' requests to correct the 笔录 (Art. 42), decided here. */
"use strict";
(() => {
  const C = Console;
  const { api, $, el, showError, atT, roleLabel, ROLE_LABELS } = Court;
  const box = () => $("#transcript");
  let lines = [];              // [{id, role, role_label, text, start, end, source, corrected, marks}]
  let selected = null;         // line id
  let editing = null;          // line id being edited
  let reloadWanted = false;
  let loadedUpTo = 0;          // the last recognized line the loaded transcript holds (older events are in it)

  // -- loading and drawing ----------------------------------------------------------------------------

  async function load() {
    if (editing) { reloadWanted = true; return; }
    try { lines = await api("GET", `${C.base}/lines`); } catch (e) { C.fail(e); return; }
    reloadWanted = false;
    for (const l of lines) { const m = /^u(\d+)$/.exec(l.id); if (m) loadedUpTo = Math.max(loadedUpTo, Number(m[1])); }
    draw();
  }
  const soonLoad = () => C.soon(load, 250);

  // The characters the recognizer was unsure of, underlined so the clerk's eye goes there first.
  function textNode(l) {
    const node = el("span", { class: "text" });
    let at = 0;
    for (const [a, b] of l.uncertain || []) {
      if (a < at || b > l.text.length) continue;
      node.append(l.text.slice(at, a), el("span", { class: "unsure", title: "识别把握不大，请核对", text: l.text.slice(a, b) }));
      at = b;
    }
    node.append(l.text.slice(at));
    return node;
  }

  function lineNode(l) {
    const marks = (l.marks || []).map((m) => el("span", { class: `mark mark-${m}`, text: `〔${m}〕` }));
    const node = el("div", {
      class: `line${l.corrected ? " corrected" : ""}${l.id === selected ? " selected" : ""}`,
      "data-id": l.id, "data-role": l.role, role: "option", "aria-selected": l.id === selected ? "true" : "false",
    },
    el("span", { class: "when", text: atT(l.start), title: `庭审计时 ${Court.clock(l.start)}` }),
    el("span", { class: "who", text: roleLabel(l.role, l.role_label) }),
    textNode(l),
    ...marks);
    node.addEventListener("click", () => { if (editing !== l.id) select(l.id); });
    node.addEventListener("dblclick", () => edit(l.id));
    return node;
  }

  function draw() {
    const b = box();
    const atEnd = b.scrollTop + b.clientHeight >= b.scrollHeight - 30;
    b.textContent = "";
    if (!lines.length) b.append(el("p", { class: "muted empty", text: "开庭后，发言会实时出现在这里。" }));
    for (const l of lines) b.append(lineNode(l));
    if ($("#follow").checked && atEnd) b.scrollTop = b.scrollHeight;
    tools();
  }

  function find(id) { return lines.find((l) => l.id === id) || null; }
  function nodeOf(id) { return box().querySelector(`.line[data-id="${CSS.escape(id)}"]`); }

  function select(id, scroll = true) {
    selected = id;
    for (const n of box().querySelectorAll(".line.selected")) { n.classList.remove("selected"); n.setAttribute("aria-selected", "false"); }
    const n = id && nodeOf(id);
    if (n) {
      n.classList.add("selected");
      n.setAttribute("aria-selected", "true");
      if (scroll) n.scrollIntoView({ block: "nearest" });
    }
    tools();
  }

  function tools() {
    const l = find(selected);
    const can = !!l && !(C.snap && C.snap.state === "archived");
    for (const id of ["#t-play", "#t-edit", "#t-role", "#t-merge", "#t-split", "#t-mark", "#t-add"]) $(id).disabled = !can;
    if (l) $("#t-role").value = l.role;
  }

  // -- the clerk's operations --------------------------------------------------------------------------

  function play(l) {
    if (!l || !l.source) return;
    const player = $("#player");
    const q = new URLSearchParams({ source: l.source, start: Math.max(0, l.start).toFixed(3), end: Math.max(l.end, l.start + 0.1).toFixed(3) });
    player.src = `${C.base}/audio?${q}`;
    player.classList.remove("hidden");
    player.play().catch(() => showError("#error", { detail: "无法回放这一段录音。" }));
  }

  function edit(id) {
    const l = find(id);
    const n = l && nodeOf(id);
    if (!n) return;
    select(id);
    editing = id;
    const text = n.querySelector(".text");
    text.textContent = l.text;   // edited as plain text: the unsure marks go
    text.contentEditable = "true";
    text.spellcheck = false;
    n.classList.add("editing");
    text.focus();
    const range = document.createRange();
    range.selectNodeContents(text);
    range.collapse(false);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    play(l);
    text.addEventListener("keydown", (ev) => {
      if (ev.isComposing || ev.keyCode === 229) return;   // the IME is composing: its Enter is its own
      if (ev.key === "Enter" && ev.altKey) { ev.preventDefault(); splitHere(l, text); }
      else if (ev.key === "Enter") { ev.preventDefault(); finish(l, text, true); }
      else if (ev.key === "Escape") { ev.preventDefault(); text.textContent = l.text; finish(l, text, false); }
      else if (ev.key.toLowerCase() === "p" && ev.altKey) { ev.preventDefault(); play(l); }
    });
    text.addEventListener("blur", () => { if (editing === l.id) finish(l, text, false, true); });
  }

  async function finish(l, text, next, keep = false) {
    if (editing !== l.id) return;
    editing = null;
    text.contentEditable = "false";
    const n = nodeOf(l.id);
    if (n) n.classList.remove("editing");
    const value = text.textContent.trim();
    if (value && value !== l.text) {
      try {
        await api("PATCH", `${C.base}/transcript/${encodeURIComponent(l.id)}`, { text: value });
        l.text = value;
        l.uncertain = [];
        l.corrected = true;
        if (n) n.classList.add("corrected");
      } catch (e) { text.textContent = l.text; C.fail(e); }
    } else if (!value) text.textContent = l.text;
    if (next) {
      const i = lines.findIndex((x) => x.id === l.id);
      if (i >= 0 && i + 1 < lines.length) select(lines[i + 1].id);
      if (!keep) box().focus();
    }
    if (reloadWanted) load();
  }

  function caretOffset(text) {
    const sel = getSelection();
    if (!sel.rangeCount) return -1;
    const r = sel.getRangeAt(0).cloneRange();
    r.selectNodeContents(text);
    r.setEnd(sel.getRangeAt(0).startContainer, sel.getRangeAt(0).startOffset);
    return r.toString().length;
  }

  async function splitHere(l, text) {
    const offset = caretOffset(text);
    const value = text.textContent.trim();
    if (offset <= 0 || offset >= text.textContent.length) {
      showError("#error", { detail: "请把光标放在要拆分的位置（不能在行首或行尾）。" });
      return;
    }
    editing = null;
    text.contentEditable = "false";
    try {
      if (value !== l.text) await api("PATCH", `${C.base}/transcript/${encodeURIComponent(l.id)}`, { text: value });
      await api("POST", `${C.base}/transcript/${encodeURIComponent(l.id)}/split`, { offset, reason: "书记员拆分" });
    } catch (e) { C.fail(e); }
    box().focus();
    load();
  }

  const withSelected = (fn) => C.act(async () => { const l = find(selected); if (l) await fn(l); });

  const merge = withSelected(async (l) => {
    const i = lines.findIndex((x) => x.id === l.id);
    if (i < 0 || i + 1 >= lines.length) { showError("#error", { detail: "这是最后一行，没有下一行可以合并。" }); return; }
    await api("POST", `${C.base}/transcript/merge`, { lines: [l.id, lines[i + 1].id], reason: "书记员合并" });
    await load();
  });

  const mark = withSelected(async (l) => {
    const value = $("#t-mark").value;
    $("#t-mark").value = "";
    if (!value) return;
    if ((l.marks || []).includes(value)) {
      await api("DELETE", `${C.base}/transcript/${encodeURIComponent(l.id)}/marks/${encodeURIComponent(value)}`);
    } else {
      await api("POST", `${C.base}/transcript/${encodeURIComponent(l.id)}/marks`, { mark: value, note: "" });
    }
    await load();
  });

  const changeRole = withSelected(async (l) => {
    const role = $("#t-role").value;
    if (role === l.role) return;
    await api("PATCH", `${C.base}/transcript/${encodeURIComponent(l.id)}`, { role });
    await load();
  });

  function openAdd() {
    $("#add-form").classList.remove("hidden");
    const l = find(selected);
    $("#add-role").value = l ? l.role : "presiding_arbitrator";
    $("#add-text").focus();
  }

  async function add(ev) {
    ev.preventDefault();
    const text = $("#add-text").value.trim();
    if (!text) { showError("#error", { detail: "请填写补录的发言内容。" }); return; }
    const l = find(selected);
    const last = lines.length ? lines[lines.length - 1] : null;
    const start = l ? l.end + 0.01 : (last ? last.end + 0.01 : 0);
    try {
      await api("POST", `${C.base}/transcript`, { role: $("#add-role").value, text, start, reason: "书记员补录" });
      $("#add-text").value = "";
      $("#add-form").classList.add("hidden");
      box().focus();
      await load();
    } catch (e) { C.fail(e); }
  }

  function keys(ev) {
    if (editing || ev.target !== box() || ev.isComposing) return;
    const i = lines.findIndex((l) => l.id === selected);
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (!lines.length) return;
      const j = i < 0 ? lines.length - 1 : Math.min(lines.length - 1, Math.max(0, i + (ev.key === "ArrowDown" ? 1 : -1)));
      select(lines[j].id);
    } else if (ev.key === "Enter" && selected) { ev.preventDefault(); edit(selected); }
    else if (ev.key === " " && selected) { ev.preventDefault(); play(find(selected)); }
    else if (ev.key.toLowerCase() === "m" && selected) { ev.preventDefault(); merge(); }
    else if (ev.key.toLowerCase() === "a") { ev.preventDefault(); openAdd(); }
  }

  // -- live lines ------------------------------------------------------------------------------------------

  function onEvent(e) {
    if (e.type === "utterance") {
      if (e.seq <= loadedUpTo || find(`u${e.seq}`)) return;
      const l = { id: `u${e.seq}`, role: e.role, role_label: e.role_label, text: e.text, start: e.start, end: e.end,
        source: e.source, corrected: false, marks: [], uncertain: e.uncertain || [] };
      lines.push(l);
      const b = box();
      const atEnd = b.scrollTop + b.clientHeight >= b.scrollHeight - 30;
      const empty = b.querySelector(".empty");
      if (empty) empty.remove();
      b.append(lineNode(l));
      if ($("#follow").checked && atEnd && !editing) b.scrollTop = b.scrollHeight;
    } else if (e.type.startsWith("utterance.")) {
      soonLoad();
    }
    if (e.type.startsWith("correction.")) C.soon(loadRequests, 250);
  }

  // -- the parties' requests (Art. 42) ----------------------------------------------------------------------

  const refusing = new Set();

  async function loadRequests() {
    let items;
    try { items = await api("GET", `${C.base}/corrections`); } catch (e) { return; }
    const ul = $("#requests");
    if (ul.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
    ul.textContent = "";
    if (!items.length) { ul.append(el("li", { class: "muted", text: "暂无当事人申请更正笔录" })); return; }
    items.sort((a, b) => (a.status !== "pending") - (b.status !== "pending") || b.request_id - a.request_id);
    for (const r of items) {
      const li = el("li", { "data-request": r.request_id, "data-status": r.status },
        el("div", { class: "row" },
          el("span", { class: `badge ${r.status === "pending" ? "warn" : r.status === "accepted" ? "ok" : "bad"}`, text: r.status_label }),
          el("strong", { class: "grow", text: `${r.requested_by} 申请更正` }),
          el("span", { class: "muted small", text: Court.timeOfDay(r.at) })),
        el("div", { class: "quote" }, el("span", { class: "muted", text: "原记录：" }), r.text_now || r.text_then),
        el("div", { class: "quote" }, el("span", { class: "muted", text: "申请改为：" }), r.proposed_text),
        r.reason ? el("div", { class: "muted small", text: `理由：${r.reason}` }) : null,
        r.status === "refused" && r.decision_reason ? el("div", { class: "small", text: `不予更正的理由：${r.decision_reason}` }) : null);
      if (r.status === "pending") li.append(decideTools(r));
      ul.append(li);
    }
  }

  function decideTools(r) {
    const decide = (accept, reason) => C.act(async () => {
      await api("POST", `${C.base}/corrections/${r.request_id}/decide`, { accept, reason });
      refusing.delete(r.request_id);
      await loadRequests();
      await load();
    });
    if (refusing.has(r.request_id)) {
      const input = el("input", { type: "text", class: "grow", placeholder: "不予更正的理由（将记入笔录）", "aria-label": "不予更正的理由" });
      const form = el("form", { class: "row" }, input,
        el("button", { type: "submit", class: "danger small" }, "确认不予更正"),
        el("button", { type: "button", class: "small", onclick: () => { refusing.delete(r.request_id); loadRequests(); } }, "取消"));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        if (!input.value.trim()) { showError("#error", { detail: "不予更正须写明理由。" }); return; }
        decide(false, input.value.trim())();
      });
      setTimeout(() => input.focus(), 0);
      return form;
    }
    return el("div", { class: "row" },
      el("button", { type: "button", class: "primary small", "data-testid": `accept-${r.request_id}`,
        onclick: decide(true, "准予当事人的更正申请") }, "准予更正"),
      el("button", { type: "button", class: "danger small", "data-testid": `refuse-${r.request_id}`,
        onclick: () => { refusing.add(r.request_id); loadRequests(); } }, "不予更正"));
  }

  // -- wiring ----------------------------------------------------------------------------------------------

  for (const id of ["#t-role", "#add-role"]) {
    for (const [value, text] of Object.entries(ROLE_LABELS)) $(id).append(el("option", { value, text }));
  }
  box().addEventListener("keydown", keys);
  $("#t-play").addEventListener("click", () => play(find(selected)));
  $("#t-edit").addEventListener("click", () => selected && edit(selected));
  $("#t-merge").addEventListener("click", merge);
  $("#t-split").addEventListener("click", () => {
    if (editing) return;
    showError("#error", { detail: "先按回车进入更正，把光标放在要拆分的位置，再按 Alt+回车。" });
    if (selected) edit(selected);
  });
  $("#t-mark").addEventListener("change", mark);
  $("#t-role").addEventListener("change", changeRole);
  $("#t-add").addEventListener("click", openAdd);
  $("#add-form").addEventListener("submit", add);
  $("#add-cancel").addEventListener("click", () => { $("#add-form").classList.add("hidden"); box().focus(); });

  C.on("start", async () => { await load(); loadRequests(); });
  C.on("event", onEvent);
  C.on("render", tools);
})();
